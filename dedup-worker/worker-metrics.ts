import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const BATCH_RESULTS = ['processed', 'redelivered', 'already_published', 'dead_lettered'] as const;
export const COPY_RESULTS = ['unique', 'repeat', 'duplicate', 'chunk_resend'] as const;

/** Every metric of a dedup worker. `receiver` is a configured receiver id: a small fixed set. */
export function createWorkerMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    batchesProcessed: new Counter({
      name: 'fanin_worker_batches_total',
      help: 'Batches consumed, by outcome.',
      labelNames: ['result'] as const,
      registers, // processed | redelivered | already_published | dead_lettered
    }),
    copies: new Counter({
      name: 'fanin_worker_copies_total',
      help: 'Event copies decided, per receiver: unique (first occurrence), repeat (a real repeat, occurrence > 1), duplicate (a copy of an event another receiver delivered first), chunk_resend (an event of a Forward chunk resent after a lost ack, dropped whole).',
      labelNames: ['receiver', 'result'] as const,
      registers,
    }),
    lateCopies: new Counter({
      name: 'fanin_worker_late_copies_total',
      help: "Copies decided new (unique or repeat) more than the dedup window after their receiver received them: an earlier copy's dedup key may have expired, so each may be a duplicate that passed. An upper bound; 0 means no copy outlived the window.",
      labelNames: ['receiver'] as const,
      registers,
    }),
    batchAge: new Histogram({
      name: 'fanin_worker_batch_age_seconds',
      help: 'Age of a batch when first decided: from receipt of its first event at the receiver (receiver clock) to the dedup decision. Spool replays show here; compare with the dedup window.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
      registers,
    }),
    dedupWindow: new Gauge({
      name: 'fanin_worker_dedup_window_seconds',
      help: 'The configured dedup window (TTL of a dedup key).',
      registers,
    }),
    uniquePublished: new Counter({
      name: 'fanin_worker_unique_events_published_total',
      help: 'Unique events published to the processed exchange (confirmed).',
      registers,
    }),
    passThroughEvents: new Counter({
      name: 'fanin_worker_pass_through_events_total',
      help: 'Events published undeduplicated (dedup: skipped) while Redis was unreachable, in pass-through mode.',
      registers,
    }),
    republished: new Counter({
      name: 'fanin_worker_republished_events_total',
      help: 'Unique events published again for a redelivered batch (same ids; idempotent sinks absorb them).',
      registers,
    }),
    scriptLatency: new Histogram({
      name: 'fanin_worker_redis_script_seconds',
      help: "Latency of one batch's dedup script calls (all partitions).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    redisErrors: new Counter({
      name: 'fanin_worker_redis_errors_total',
      help: 'Failed dedup script or Redis calls.',
      registers,
    }),
    redisUp: new Gauge({
      name: 'fanin_worker_redis_up',
      help: "1 while the worker's Redis connection is ready, 0 while it is down or reconnecting.",
      registers,
    }),
    publishFailures: new Counter({
      name: 'fanin_worker_publish_failures_total',
      help: 'Attempts to publish a processed batch that the broker refused or did not confirm (retried after a backoff while the input batch stays unacknowledged).',
      registers,
    }),
    holding: new Gauge({
      name: 'fanin_worker_holding',
      help: '1 while the worker holds (does not consume) because Redis or the broker is unavailable.',
      registers,
    }),
    inflight: new Gauge({ name: 'fanin_worker_inflight_batches', help: 'Batches being processed.', registers }),
    batchLatency: new Histogram({
      name: 'fanin_worker_batch_seconds',
      help: 'Time from delivery to ack of one batch.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
  };
  // Zeros for the label values known up front, so dashboards show 0 rather than "No data".
  for (const result of BATCH_RESULTS) metrics.batchesProcessed.inc({ result }, 0);
  metrics.holding.set(1); // until the first consume starts
  metrics.redisUp.set(0);
  const seenReceivers = new Set<string>();
  return {
    ...metrics,
    /** Called for every receiver id a batch names: the first time, its copy counters start at 0 for every result. */
    knowReceiver(receiver: string): void {
      if (seenReceivers.has(receiver)) return;
      seenReceivers.add(receiver);
      for (const result of COPY_RESULTS) metrics.copies.inc({ receiver, result }, 0);
      metrics.lateCopies.inc({ receiver }, 0);
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
