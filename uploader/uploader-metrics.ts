import { Counter, Histogram, type Registry } from 'prom-client';

export function createUploaderMetrics(registry: Registry) {
  const registers = [registry];
  return {
    eventsWritten: new Counter({
      name: 'fanin_uploader_events_written_total',
      help: 'Events durably written, per sink.',
      labelNames: ['sink'] as const,
      registers,
    }),
    eventsRejected: new Counter({
      name: 'fanin_uploader_events_rejected_total',
      help: "Events whose body was not an envelope (written to the sink's reject file).",
      labelNames: ['sink'] as const,
      registers,
    }),
    writeFailures: new Counter({
      name: 'fanin_uploader_write_failures_total',
      help: 'Failed sink writes (retried with backoff).',
      labelNames: ['sink'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'fanin_uploader_dead_lettered_batches_total',
      help: 'Processed batches that could not be decoded, sent to the dead-letter queue.',
      labelNames: ['sink'] as const,
      registers,
    }),
    secondaryEvents: new Counter({
      name: 'fanin_uploader_secondary_events_total',
      help: 'Events written to the secondary file sink after the sink kept failing.',
      labelNames: ['sink'] as const,
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'fanin_uploader_write_seconds',
      help: 'Duration of one durable sink write.',
      labelNames: ['sink'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    eventsUnmatched: new Counter({
      name: 'fanin_uploader_events_unmatched_total',
      help: "Events a sink's match, exclude or minSeverity left out (not written to it, acked).",
      labelNames: ['sink'] as const,
      registers,
    }),
    unrouted: new Counter({
      name: 'fanin_uploader_unrouted_events_total',
      help: "Events no sink's routing takes, by the reason of the closest sink (no_match, excluded, severity).",
      labelNames: ['reason'] as const,
      registers,
    }),
    endToEndLatency: new Histogram({
      name: 'fanin_uploader_end_to_end_latency_seconds',
      help: 'From receipt at the receiver to the durable sink write, per event.',
      labelNames: ['sink'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

export type UploaderMetrics = ReturnType<typeof createUploaderMetrics>;

/** Zeros for every configured sink, so dashboards and alerts see 0 instead of "No data" before the first failure. */
export function initialiseUploaderMetrics(m: UploaderMetrics, sinks: readonly string[]): void {
  for (const sink of sinks) {
    for (const c of [
      m.eventsWritten,
      m.eventsRejected,
      m.writeFailures,
      m.deadLettered,
      m.secondaryEvents,
      m.eventsUnmatched,
    ])
      c.inc({ sink }, 0);
    m.writeSeconds.zero({ sink });
    m.endToEndLatency.zero({ sink });
  }
  for (const reason of ['no_match', 'excluded', 'severity'] as const) m.unrouted.inc({ reason }, 0);
}
