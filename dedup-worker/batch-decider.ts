import type { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import type { Delivery } from '../shared/amqp/queue-consumer.js';
import {
  BatchDecodeError,
  decodeNewEventBatch,
  encodeProcessedBatch,
  encodeSelectedEvents,
  newBatchId,
  type NewEventBatch,
} from '../shared/batch-codec.js';
import type { Logger } from '../shared/logger.js';
import type { PartitionDecision } from './batch-decision.js';
import { selectUnique, type UniqueSelection } from './batch-decision.js';
import type { DedupStore } from './dedup-store.js';
import { countDecisions } from './decision-counters.js';
import { passThroughBatch } from './pass-through.js';
import { backoffDelayMs, type Backoff } from '../shared/backoff.js';
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

/** Between attempts to publish one processed batch that the broker refused or did not confirm. */
const PUBLISH_RETRY_BACKOFF: Backoff = { initialDelayMs: 200, maxDelayMs: 5000 };
/** A batch that keeps failing is logged on its first attempt and then on every this many. */
const PUBLISH_RETRY_LOG_EVERY = 10;

/**
 * Decides one delivered batch: decode → dedup script → publish the unique events, with the batch id as messageId,
 * and wait for the confirm → mark the batch published → ack (docs/design.md §3). Every path settles the delivery:
 * an undecodable batch is dead-lettered, a failed script returns it to the queue.
 *
 * A publish the broker refuses (a sink queue without its quorum while a node is lost) or that it never confirms is
 * tried again in place, after a backoff, while the batch stays unacknowledged. Returning the batch to the queue
 * instead would redeliver it at once: a tight loop that writes the batch again and again to the sink queues that did
 * accept it, and spends the queue's delivery limit until the batch is dead-lettered and its events miss the sinks.
 * The retry ends when the delivery is no longer live (its channel closed, so RabbitMQ has it back; or a drain), or
 * when the publisher has no channel (the worker stops taking batches until the broker session is back).
 */
export class BatchDecider {
  private inflight = 0;

  constructor(
    private readonly o: BatchDeciderOptions,
    private readonly d: BatchDeciderDeps,
  ) {}

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
      log.warn(
        { err: (err as Error).message, batch: newBatchId(batch) },
        'dedup script failed; batch returned to the queue',
      );
      delivery.requeue();
      this.d.onRedisFailed('redis unavailable');
      return;
    }
    metrics.scriptLatency.observe(Number(process.hrtime.bigint() - scriptStarted) / 1e9);
    countDecisions(metrics, batch, selection, this.o.dedupWindowSeconds);

    if (selection.indices.length > 0 && !selection.alreadyPublished) {
      const content = encodeSelectedEvents(batch, selection.indices, selection.occurrences, selection.routes);
      if (!(await this.publishUntilConfirmed(delivery, batch, content))) return;
      metrics.uniquePublished.inc(selection.indices.length);
      if (selection.reused) metrics.republished.inc(selection.indices.length);
    }
    if (!selection.alreadyPublished) {
      // Losing this mark only means a redelivery republishes the same ids; never worth holding the ack for.
      await store
        .markPublished(batch, decisions)
        .catch((err: Error) => log.warn({ err: err.message }, 'could not mark batch published'));
    }
    metrics.batchesProcessed.inc({
      result: selection.alreadyPublished ? 'already_published' : selection.reused ? 'redelivered' : 'processed',
    });
    delivery.ack();
  }

  private async publishPassThrough(delivery: Delivery, batch: NewEventBatch): Promise<void> {
    const events = passThroughBatch(batch);
    const { ids } = events;
    const content = encodeProcessedBatch({ sourceBatchId: newBatchId(batch), ...events });
    if (!(await this.publishUntilConfirmed(delivery, batch, content))) return;
    this.d.metrics.passThroughEvents.inc(ids.length);
    this.d.log.warn(
      { batch: newBatchId(batch), events: ids.length },
      'redis unavailable: batch passed through undeduplicated (dedup: skipped)',
    );
    delivery.ack();
  }

  /**
   * Publishes `content` (the processed batch) with the batch id as messageId. True once confirmed; false when the
   * delivery was returned to the queue instead (see the class comment).
   */
  private async publishUntilConfirmed(delivery: Delivery, batch: NewEventBatch, content: Buffer): Promise<boolean> {
    const { metrics, log, publisher } = this.d;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.publisher.publish(this.o.processedExchange, content, { messageId: newBatchId(batch) });
        if (attempt > 1)
          log.info({ batch: newBatchId(batch), attempts: attempt }, 'processed batch confirmed after retries');
        return true;
      } catch (err) {
        metrics.publishFailures.inc();
        if (!delivery.live || !publisher.ready) {
          log.warn(
            { err: (err as Error).message, batch: newBatchId(batch), attempts: attempt },
            'processed batch not confirmed; batch returned to the queue',
          );
          delivery.requeue();
          return false;
        }
        if (attempt === 1 || attempt % PUBLISH_RETRY_LOG_EVERY === 0) {
          log.warn(
            { err: (err as Error).message, batch: newBatchId(batch), attempts: attempt },
            'processed batch not confirmed; publishing it again after a backoff, the batch stays unacknowledged',
          );
        }
        await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, PUBLISH_RETRY_BACKOFF)));
      }
    }
  }
}
