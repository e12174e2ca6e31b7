import { Counter, Gauge, type Registry } from 'prom-client';

const perRegistry = new WeakMap<Registry, ReturnType<typeof build>>();

/**
 * Created once per registry it is given (never the global one): several named forward sinks share the set, their
 * servers tell them apart. The `server` label is "host:port" as the operator configured it: a small fixed set,
 * never anything a sender controls.
 */
export function createForwardSinkMetrics(registry: Registry) {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = build(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

function build(registry: Registry) {
  const registers = [registry];
  const server = ['server'] as const;
  return {
    chunksSent: new Counter({
      name: 'fanin_uploader_forward_chunks_sent_total',
      help: 'PackedForward messages written to a server.',
      labelNames: server,
      registers,
    }),
    eventsSent: new Counter({
      name: 'fanin_uploader_forward_events_sent_total',
      help: 'Events in the messages written to a server.',
      labelNames: server,
      registers,
    }),
    bytesSent: new Counter({
      name: 'fanin_uploader_forward_bytes_sent_total',
      help: 'Bytes of the messages written to a server.',
      labelNames: server,
      registers,
    }),
    acksReceived: new Counter({
      name: 'fanin_uploader_forward_acks_received_total',
      help: 'Chunks a server acknowledged.',
      labelNames: server,
      registers,
    }),
    ackTimeouts: new Counter({
      name: 'fanin_uploader_forward_ack_timeouts_total',
      help: 'Chunks whose ack did not arrive within ackResponseTimeoutMs (they are resent).',
      labelNames: server,
      registers,
    }),
    resends: new Counter({
      name: 'fanin_uploader_forward_resends_total',
      help: 'Sends of a chunk that an earlier send did not get acknowledged, per server it was resent to.',
      labelNames: server,
      registers,
    }),
    chunksSkipped: new Counter({
      name: 'fanin_uploader_forward_chunks_skipped_total',
      help: 'Chunks of a retried write that a server had already acknowledged (not sent again).',
      registers,
    }),
    sendFailures: new Counter({
      name: 'fanin_uploader_forward_send_failures_total',
      help: 'Failed sends of one chunk to one server, by reason.',
      labelNames: ['server', 'reason'] as const,
      registers,
    }),
    excludedEvents: new Counter({
      name: 'fanin_uploader_forward_excluded_events_total',
      help: 'Events a forward sink did not send because they had passed a fleet in its excludeFleets (docs/replication.md).',
      labelNames: ['sink'] as const,
      registers,
    }),
    heartbeatFailures: new Counter({
      name: 'fanin_uploader_forward_heartbeat_failures_total',
      help: 'Heartbeats a server did not answer.',
      labelNames: server,
      registers,
    }),
    serverUp: new Gauge({
      name: 'fanin_uploader_forward_server_up',
      help: '1 while a configured server is up (heartbeats answered, no failed send since), 0 while it is down.',
      labelNames: server,
      registers,
    }),
    serverActive: new Gauge({
      name: 'fanin_uploader_forward_server_active',
      help: '1 while a server is in the rotation (regular servers that are up, standby servers covering lost weight).',
      labelNames: server,
      registers,
    }),
  };
}

export type ForwardSinkMetrics = ReturnType<typeof createForwardSinkMetrics>;
