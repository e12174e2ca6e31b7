import { Counter, Gauge, type Registry } from 'prom-client';

const perRegistry = new WeakMap<Registry, ReturnType<typeof build>>();

/**
 * Created once per registry it is given (never the global one); several syslog sinks share the set and are told
 * apart by `sink` (the configured sink name). `server` is "host:port" as configured: a small fixed set, never anything
 * a sender controls.
 */
export function createSyslogSinkMetrics(registry: Registry) {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = build(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

function build(registry: Registry) {
  const registers = [registry];
  const server = ['sink', 'server'] as const;
  return {
    eventsSent: new Counter({
      name: 'fanin_uploader_syslog_events_sent_total',
      help: "Events whose bytes a collector's connection took, by how the payload was made (id_inserted, id_present, verbatim, wrapped, rendered).",
      labelNames: ['sink', 'server', 'kind'] as const,
      registers,
    }),
    bytesSent: new Counter({
      name: 'fanin_uploader_syslog_bytes_sent_total',
      help: 'Bytes written to a collector, framing included.',
      labelNames: server,
      registers,
    }),
    udpUnacknowledged: new Counter({
      name: 'fanin_uploader_syslog_udp_unacknowledged_events_total',
      help: 'Events sent over UDP: never acknowledged, and lost without notice when a datagram is dropped on the way or by the collector.',
      labelNames: server,
      registers,
    }),
    oversize: new Counter({
      name: 'fanin_uploader_syslog_oversize_events_total',
      help: 'Events larger than udpMaxBytes, not sent over UDP (a datagram cannot carry them).',
      labelNames: ['sink'] as const,
      registers,
    }),
    splitEvents: new Counter({
      name: 'fanin_uploader_syslog_split_events_total',
      help: 'Events holding an LF sent with non-transparent framing: the collector sees them as more than one message.',
      labelNames: ['sink'] as const,
      registers,
    }),
    sendFailures: new Counter({
      name: 'fanin_uploader_syslog_send_failures_total',
      help: 'Failed writes of a batch to one collector, by reason.',
      labelNames: ['sink', 'server', 'reason'] as const,
      registers,
    }),
    failovers: new Counter({
      name: 'fanin_uploader_syslog_failovers_total',
      help: 'Writes that failed on this collector and went on to the next one.',
      labelNames: server,
      registers,
    }),
    connected: new Gauge({
      name: 'fanin_uploader_syslog_server_connected',
      help: '1 while the sink holds an open connection (or UDP socket) to a collector.',
      labelNames: server,
      registers,
    }),
  };
}

export type SyslogSinkMetrics = ReturnType<typeof createSyslogSinkMetrics>;
