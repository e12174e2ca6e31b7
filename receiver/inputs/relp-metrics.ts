import { Counter, type Registry } from 'prom-client';
import { RELP_ERROR_REASONS } from './relp-errors.js';

/** Commands counted by name; anything else a client sends is counted as `other`. */
export const RELP_COMMANDS = ['open', 'syslog', 'close', 'hint', 'other'] as const;
export type RelpCommandLabel = (typeof RELP_COMMANDS)[number];
export const RELP_ACK_RESULTS = ['acked', 'abandoned'] as const;

/**
 * The RELP input's metrics, created once per receiver. Labels come from fixed sets (command, result, reason); no
 * address or host ever becomes a label. Connections and received events are counted in the receiver's shared metrics
 * (`transport="relp"`).
 */
export function createRelpMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    frames: new Counter({
      name: 'fanin_receiver_relp_frames_total',
      help: 'RELP frames taken in, by command (hint: TXNR 0 from a client, ignored; other: a command not offered, answered 500).',
      labelNames: ['command'] as const,
      registers,
    }),
    acks: new Counter({
      name: 'fanin_receiver_relp_acks_total',
      help: 'syslog frames answered "rsp 200" after the broker confirmed (or the spool took) their batch (acked), or left unanswered because the connection ended or the receiver stopped first (abandoned: the sender resends them).',
      labelNames: ['result'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'fanin_receiver_relp_errors_total',
      help: 'RELP sessions closed (or, for unknown_command, a frame answered 500), by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    serverCloses: new Counter({
      name: 'fanin_receiver_relp_servercloses_total',
      help: 'Sessions this receiver ended with the "serverclose" hint (drain, idle, error, or after the client\'s close).',
      registers,
    }),
  };
  for (const command of RELP_COMMANDS) metrics.frames.inc({ command }, 0);
  for (const result of RELP_ACK_RESULTS) metrics.acks.inc({ result }, 0);
  for (const reason of RELP_ERROR_REASONS) metrics.errors.inc({ reason }, 0);
  return metrics;
}

export type RelpMetrics = ReturnType<typeof createRelpMetrics>;
