import { Counter, type Registry } from 'prom-client';
import { FORWARD_ERROR_REASONS } from './forward-errors.js';
import type { ForwardMode } from './forward-decoder.js';

export const FORWARD_MODES: readonly (ForwardMode | 'heartbeat')[] = [
  'message',
  'forward',
  'packed_forward',
  'compressed_packed_forward',
  'heartbeat',
];
export const CHUNK_RESULTS = ['acked', 'abandoned'] as const;
export const REPLICA_RESULTS = ['accepted', 'loop', 'invalid'] as const;

/**
 * The Forward input's metrics, created once per receiver. Every label comes from a fixed set (mode, result,
 * reason); no tag, host or address ever becomes a label. Connections and received events are counted in the
 * receiver's shared metrics (`transport="forward"`).
 */
export function createForwardMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    messages: new Counter({
      name: 'fanin_receiver_forward_messages_total',
      help: 'Forward messages taken in, by mode (heartbeat: a msgpack nil over TCP).',
      labelNames: ['mode'] as const,
      registers,
    }),
    chunks: new Counter({
      name: 'fanin_receiver_forward_chunks_total',
      help: 'Messages with a chunk option: acked (after the broker confirm), abandoned (connection gone or receiver stopping before the confirm; the sender resends).',
      labelNames: ['result'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'fanin_receiver_forward_errors_total',
      help: 'Forward input refused, by reason: the connection is closed (limits, malformed msgpack, failed handshake, idle) or, for nil_record, the entry skipped.',
      labelNames: ['reason'] as const,
      registers,
    }),
    handshakes: new Counter({
      name: 'fanin_receiver_forward_handshakes_total',
      help: 'Shared-key handshakes (HELO/PING/PONG), by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    replicated: new Counter({
      name: 'fanin_receiver_forward_replicated_events_total',
      help: 'Entries carrying a fleet path (fleet.id set): accepted as replicas (keyed by their original id), loop (the path holds this fleet: dropped), invalid (not a valid path or id: kept as an ordinary event).',
      labelNames: ['result'] as const,
      registers,
    }),
    heartbeats: new Counter({
      name: 'fanin_receiver_forward_udp_heartbeats_total',
      help: 'UDP heartbeats answered on the Forward port.',
      registers,
    }),
  };
  for (const mode of FORWARD_MODES) metrics.messages.inc({ mode }, 0);
  for (const result of CHUNK_RESULTS) metrics.chunks.inc({ result }, 0);
  for (const reason of FORWARD_ERROR_REASONS) metrics.errors.inc({ reason }, 0);
  for (const result of ['ok', 'failed']) metrics.handshakes.inc({ result }, 0);
  for (const result of REPLICA_RESULTS) metrics.replicated.inc({ result }, 0);
  return metrics;
}

export type ForwardMetrics = ReturnType<typeof createForwardMetrics>;
