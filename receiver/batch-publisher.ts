import { EventEmitter } from 'node:events';
import { encodeNewEventBatch } from '../shared/batch-codec.js';
import { PublishError, type ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import type { Logger } from '../shared/logger.js';
import type { SealedBatch } from './event-batcher.js';
import type { ReceiverMetrics } from './receiver-metrics.js';

export interface BatchPublisherOptions {
  readonly exchange: string;
  readonly receiverId: string;
  readonly bootId: string;
  /** Unconfirmed batches at which stream inputs are paused. */
  readonly maxUnconfirmed: number;
  /** Batches held in memory at which lossy inputs (UDP) drop and HTTP refuses. */
  readonly maxBuffered: number;
}

interface HeldBatch {
  readonly sealed: SealedBatch;
  readonly encoded: Buffer;
  readonly messageId: string;
}

export interface BatchPublisherEvents {
  /** true: pause stream intake; false: resume. */
  pressure: [paused: boolean];
}

/**
 * Holds every sealed batch until the broker confirms it, publishing in sequence order with a bounded number
 * unconfirmed. A batch whose publish fails (connection lost, nack, unroutable) goes back to the front and is
 * published again with the same batch id, so the dedup script does not count it twice.
 */
export class BatchPublisher extends EventEmitter<BatchPublisherEvents> {
  private readonly waiting: HeldBatch[] = [];
  private readonly unconfirmed = new Map<number, HeldBatch>();
  private readonly confirmWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }[]>();
  private paused = false;
  private closed = false;

  constructor(
    private readonly publisher: ConfirmPublisher,
    private readonly options: BatchPublisherOptions,
    private readonly metrics: ReceiverMetrics,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Called by the batcher with each sealed batch. */
  enqueue(sealed: SealedBatch): void {
    const encoded = encodeNewEventBatch({
      receiverId: this.options.receiverId, bootId: this.options.bootId, seq: sealed.seq, keys: sealed.keys, bodies: sealed.bodies,
    });
    this.waiting.push({ sealed, encoded, messageId: `${this.options.receiverId}:${this.options.bootId}:${sealed.seq}` });
    this.updatePressure();
    this.pump();
  }

  /** Resolves when batch `seq` is confirmed (already confirmed: at once). */
  whenConfirmed(seq: number): Promise<void> {
    if (!this.isHeld(seq)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = this.confirmWaiters.get(seq) ?? [];
      list.push({ resolve, reject });
      this.confirmWaiters.set(seq, list);
    });
  }

  /** False when memory holds as many batches as allowed: lossy inputs must drop (and count) instead of queuing. */
  get canAccept(): boolean { return this.held < this.options.maxBuffered; }
  get held(): number { return this.waiting.length + this.unconfirmed.size; }
  get isPaused(): boolean { return this.paused; }

  /** The broker channel is usable again: resend everything not confirmed, oldest first. */
  resume(): void { this.pump(); }

  /** Waits until every held batch is confirmed, or the timeout passes (returns the number still held). */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.held > 0 && Date.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.held;
  }

  close(): void {
    this.closed = true;
    const err = new Error('receiver shut down before the broker confirmed');
    for (const list of this.confirmWaiters.values()) for (const w of list) w.reject(err);
    this.confirmWaiters.clear();
  }

  private isHeld(seq: number): boolean {
    return this.unconfirmed.has(seq) || this.waiting.some((b) => b.sealed.seq === seq);
  }

  private pump(): void {
    while (!this.closed && this.publisher.ready && this.waiting.length > 0 && this.unconfirmed.size < this.options.maxUnconfirmed) {
      const batch = this.waiting.shift()!;
      this.unconfirmed.set(batch.sealed.seq, batch);
      this.publishOne(batch);
    }
    this.updatePressure();
  }

  private publishOne(batch: HeldBatch): void {
    const started = process.hrtime.bigint();
    this.publisher.publish(this.options.exchange, batch.encoded, { messageId: batch.messageId }).then(
      () => {
        this.unconfirmed.delete(batch.sealed.seq);
        this.metrics.confirmLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics.batchesPublished.inc();
        this.metrics.eventsPublished.inc(batch.sealed.bodies.length);
        this.metrics.bytesPublished.inc(batch.encoded.byteLength);
        this.metrics.batchEvents.observe(batch.sealed.bodies.length);
        const waiters = this.confirmWaiters.get(batch.sealed.seq);
        if (waiters) { this.confirmWaiters.delete(batch.sealed.seq); for (const w of waiters) w.resolve(); }
        this.pump();
      },
      (err: unknown) => {
        const code = err instanceof PublishError ? err.code : 'UNKNOWN';
        this.metrics.publishFailures.inc({ code });
        this.log.warn({ code, batch: batch.messageId, err: (err as Error).message }, 'batch not confirmed; will resend');
        this.unconfirmed.delete(batch.sealed.seq);
        this.requeueInOrder(batch);
        // A refused publish on a live channel (nack, unroutable) is retried after a pause, not in a hot loop.
        if (this.publisher.ready) setTimeout(() => this.pump(), 500).unref();
        this.updatePressure();
      },
    );
  }

  private requeueInOrder(batch: HeldBatch): void {
    const at = this.waiting.findIndex((b) => b.sealed.seq > batch.sealed.seq);
    if (at === -1) this.waiting.push(batch); else this.waiting.splice(at, 0, batch);
  }

  private updatePressure(): void {
    this.metrics.unconfirmedBatches.set(this.unconfirmed.size);
    this.metrics.bufferedBatches.set(this.held);
    const high = this.options.maxUnconfirmed;
    if (!this.paused && this.held >= high) {
      this.paused = true;
      this.metrics.backpressure.set(1);
      this.metrics.backpressurePauses.inc();
      this.emit('pressure', true);
    } else if (this.paused && this.held <= Math.floor(high / 2)) {
      this.paused = false;
      this.metrics.backpressure.set(0);
      this.emit('pressure', false);
    }
  }
}
