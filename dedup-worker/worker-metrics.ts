import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric of a dedup worker. `receiver` is a configured receiver id: a small fixed set. */
export function createWorkerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    batchesProcessed: new Counter({
      name: 'fanin_worker_batches_total', help: 'Batches consumed, by outcome.',
      labelNames: ['result'] as const, registers, // processed | redelivered | already_published | dead_lettered
    }),
    copies: new Counter({
      name: 'fanin_worker_copies_total',
      help: 'Event copies decided, per receiver: unique (first occurrence), repeat (a real repeat, occurrence > 1), duplicate (a copy of an event another receiver delivered first), chunk_resend (an event of a Forward chunk resent after a lost ack, dropped whole).',
      labelNames: ['receiver', 'result'] as const, registers,
    }),
    uniquePublished: new Counter({ name: 'fanin_worker_unique_events_published_total', help: 'Unique events published to the processed exchange (confirmed).', registers }),
    republished: new Counter({
      name: 'fanin_worker_republished_events_total', help: 'Unique events published again for a redelivered batch (same ids; idempotent sinks absorb them).', registers,
    }),
    scriptLatency: new Histogram({
      name: 'fanin_worker_redis_script_seconds', help: 'Latency of one batch\'s dedup script calls (all partitions).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers,
    }),
    redisErrors: new Counter({ name: 'fanin_worker_redis_errors_total', help: 'Failed dedup script or Redis calls.', registers }),
    publishFailures: new Counter({ name: 'fanin_worker_publish_failures_total', help: 'Processed batches not confirmed by the broker (the input batch is returned to the queue).', registers }),
    holding: new Gauge({ name: 'fanin_worker_holding', help: '1 while the worker holds (does not consume) because Redis or the broker is unavailable.', registers }),
    inflight: new Gauge({ name: 'fanin_worker_inflight_batches', help: 'Batches being processed.', registers }),
    batchLatency: new Histogram({
      name: 'fanin_worker_batch_seconds', help: 'Time from delivery to ack of one batch.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers,
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
