import type { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import type { Delivery } from '../shared/amqp/queue-consumer.js';
import { BatchDecodeError, decodeNewEventBatch, encodeProcessedBatch, newBatchId, type NewEventBatch } from '../shared/batch-codec.js';
import type { Logger } from '../shared/logger.js';
import type { PartitionDecision } from './batch-decision.js';
import { selectUnique, type UniqueSelection } from './batch-decision.js';
import type { DedupStore } from './dedup-store.js';
import { countDecisions } from './decision-counters.js';
import { passThroughBatch } from './pass-through.js';
import type { RedisDownMode } from './redis-hold.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface BatchDeciderOptions {
  readonly processedExchange: string;
  readonly redisDownMode: RedisDownMode;
  readonly dedupWindowSeconds: number;
}

export interface BatchDeciderDeps {
  readonly store: DedupStore;
  /** Confirm publisher for processed batches, attached by the worker on every broker session. */
  readonly publisher: ConfirmPublisher;
  readonly metrics: WorkerMetrics;
  readonly log: Logger;
  /** A script failed in `hold` mode: the worker stops taking batches until Redis answers again. */
  readonly onRedisFailed: (reason: string) => void;
}

/**
 * Decides one delivered batch: decode → dedup script → publish the unique events, with the batch id as messageId,
 * and wait for the confirm → mark the batch published → ack (docs/design.md §3). Every path settles the delivery:
 * an undecodable batch is dead-lettered, a failed script or publish returns it to the queue.
 */
export class BatchDecider {
  private inflight = 0;

  constructor(private readonly o: BatchDeciderOptions, private readonly d: BatchDeciderDeps) {}

  /** The queue consumer's handler. */
  readonly handle = async (delivery: Delivery): Promise<void> => {
    const { metrics } = this.d;
    const started = process.hrtime.bigint();
    metrics.inflight.set(++this.inflight);
    try {
      await this.decide(delivery);
    } finally {
      metrics.inflight.set(--this.inflight);
      metrics.batchLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  private async decide(delivery: Delivery): Promise<void> {
    const { metrics, log, store } = this.d;
    let batch: NewEventBatch;
    try {
      batch = decodeNewEventBatch(delivery.content);
    } catch (err) {
      if (!(err instanceof BatchDecodeError)) throw err;
      await delivery.deadLetter(err.message);
      return;
    }
    let decisions: PartitionDecision[];
    let selection: UniqueSelection;
    const scriptStarted = process.hrtime.bigint();
    try {
      decisions = await store.decide(batch);
      selection = selectUnique(batch, decisions);
    } catch (err) {
      metrics.redisErrors.inc();
      if (this.o.redisDownMode === 'pass-through') {
        await this.publishPassThrough(delivery, batch);
        return;
      }
      log.warn({ err: (err as Error).message, batch: newBatchId(batch) }, 'dedup script failed; batch returned to the queue');
      delivery.requeue();
      this.d.onRedisFailed('redis unavailable');
      return;
    }
    metrics.scriptLatency.observe(Number(process.hrtime.bigint() - scriptStarted) / 1e9);
    countDecisions(metrics, batch, selection, this.o.dedupWindowSeconds);

    if (selection.ids.length > 0 && !selection.alreadyPublished) {
      try {
        await this.publish(batch, selection.ids, selection.bodies);
      } catch (err) {
        metrics.publishFailures.inc();
        log.warn({ err: (err as Error).message, batch: newBatchId(batch) }, 'processed batch not confirmed; batch returned to the queue');
        delivery.requeue();
        return;
      }
      metrics.uniquePublished.inc(selection.ids.length);
      if (selection.reused) metrics.republished.inc(selection.ids.length);
    }
    if (!selection.alreadyPublished) {
      // Losing this mark only means a redelivery republishes the same ids; never worth holding the ack for.
      await store.markPublished(batch, decisions).catch((err: Error) => log.warn({ err: err.message }, 'could not mark batch published'));
    }
    metrics.batchesProcessed.inc({ result: selection.alreadyPublished ? 'already_published' : selection.reused ? 'redelivered' : 'processed' });
    delivery.ack();
  }

  private async publishPassThrough(delivery: Delivery, batch: NewEventBatch): Promise<void> {
    const { ids, bodies } = passThroughBatch(batch);
    try {
      await this.publish(batch, ids, bodies);
    } catch {
      this.d.metrics.publishFailures.inc();
      delivery.requeue();
      return;
    }
    this.d.metrics.passThroughEvents.inc(ids.length);
    this.d.log.warn({ batch: newBatchId(batch), events: ids.length }, 'redis unavailable: batch passed through undeduplicated (dedup: skipped)');
    delivery.ack();
  }

  private publish(batch: NewEventBatch, ids: string[], bodies: Uint8Array[]): Promise<void> {
    const sourceBatchId = newBatchId(batch);
    return this.d.publisher.publish(this.o.processedExchange, encodeProcessedBatch({ sourceBatchId, ids, bodies }), { messageId: sourceBatchId });
  }
}
