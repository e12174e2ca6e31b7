import { EventEmitter } from 'node:events';
import { decodeNewEventBatch, encodeNewEventBatch, newBatchId } from '../shared/batch-codec.js';
import { PublishError, type ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import type { Logger } from '../shared/logger.js';
import type { SealedBatch } from './event-batcher.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import type { BatchRoute } from './shard-rotation.js';
import { ThrottledWarning } from './inputs/throttled-warning.js';
import { SpoolFullError, type SpoolJournal, type SpoolRecord } from './spool/spool-journal.js';

export interface BatchPublisherOptions {
  /** Where each publish goes: the same exchange always, or the shards of `<ns>.new` in turn. */
  readonly route: () => BatchRoute;
  readonly receiverId: string;
  readonly bootId: string;
  /** Unconfirmed batches at which stream inputs are paused. */
  readonly maxUnconfirmed: number;
  /** Batches held in memory at which lossy inputs (UDP) drop and HTTP refuses. */
  readonly maxBuffered: number;
}

interface HeldBatch {
  readonly seq: number;
  readonly events: number;
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
 *
 * With a spool: while the broker is unreachable or blocks publishing, batches go to the on-disk journal instead of
 * memory, and while the journal holds anything, new batches queue behind it; when the broker is back the journal is
 * replayed oldest first, before new traffic. A batch counts as accepted (HTTP 2xx, Forward ack) once the broker
 * confirmed it or its journal record is durable (synced, with receiver.spool.fsync=always).
 */
export class BatchPublisher extends EventEmitter<BatchPublisherEvents> {
  private readonly waiting: HeldBatch[] = [];
  private readonly unconfirmed = new Map<number, HeldBatch>();
  private spoolInFlight = 0;
  /** Batches written to the journal whose sync has not completed: not yet accepted, not held in memory either. */
  private readonly spoolSyncing = new Set<number>();
  private readonly confirmWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }[]>();
  private paused = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Per batch while the spool disk fails: throttled, or a full disk floods the log too. */
  private readonly spoolWriteWarning: ThrottledWarning;

  constructor(
    private readonly publisher: ConfirmPublisher,
    private readonly options: BatchPublisherOptions,
    private readonly metrics: ReceiverMetrics,
    private readonly log: Logger,
    private readonly spool: SpoolJournal | null = null,
    /** False while the broker is connected but blocks publishing (resource alarm). */
    private readonly brokerUnblocked: () => boolean = () => true,
  ) {
    super();
    this.spoolWriteWarning = new ThrottledWarning(log, 'spool write failed; batch kept in memory');
    this.updateSpoolMetrics();
  }

  /** Called by the batcher with each sealed batch. */
  enqueue(sealed: SealedBatch): void {
    const encoded = encodeNewEventBatch({
      receiverId: this.options.receiverId,
      bootId: this.options.bootId,
      seq: sealed.seq,
      keys: sealed.keys,
      bodies: sealed.bodies,
      chunks: sealed.chunks,
      routes: sealed.routes,
      origins: sealed.origins,
    });
    const held: HeldBatch = {
      seq: sealed.seq,
      events: sealed.bodies.length,
      encoded,
      messageId: `${this.options.receiverId}:${this.options.bootId}:${sealed.seq}`,
    };
    if (this.spool && (this.spool.hasData || !this.brokerUsable) && this.toSpool(held)) {
      this.pump();
      return;
    }
    this.waiting.push(held);
    this.pump();
  }

  /** Resolves when batch `seq` is confirmed or durably spooled (already: at once); rejects if its spool sync fails. */
  whenConfirmed(seq: number): Promise<void> {
    if (!this.isHeld(seq)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = this.confirmWaiters.get(seq) ?? [];
      list.push({ resolve, reject });
      this.confirmWaiters.set(seq, list);
    });
  }

  /** False when memory holds as many batches as allowed: lossy inputs must drop (and count) instead of queuing. */
  get canAccept(): boolean {
    return this.held < this.options.maxBuffered;
  }
  /** Batches in memory (waiting or unconfirmed); spooled batches are on disk. */
  get held(): number {
    return this.waiting.length + this.unconfirmed.size;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  private get brokerUsable(): boolean {
    return this.publisher.ready && this.brokerUnblocked();
  }

  /** The broker channel is usable again: replay the spool, then resend everything not confirmed, oldest first. */
  resume(): void {
    this.pump();
  }

  /**
   * Waits until every held batch is confirmed, or the timeout passes; then writes what is left to the spool.
   * Returns the number of batches neither confirmed nor spooled (lost with this receiver).
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.held > 0 && this.brokerUsable && Date.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.spool) {
      // Unconfirmed batches may still be confirmed; spooling them too only means a replay the dedup script absorbs.
      const left = [...this.unconfirmed.values(), ...this.waiting].sort((a, b) => a.seq - b.seq);
      this.unconfirmed.clear();
      this.waiting.length = 0;
      for (const b of left) if (!this.toSpool(b)) this.waiting.push(b);
      await this.spool.close(); // every sync settled: the waiters of spooled batches are answered before close()
    }
    return this.held;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const err = new Error('receiver shut down before the broker confirmed');
    for (const list of this.confirmWaiters.values()) for (const w of list) w.reject(err);
    this.confirmWaiters.clear();
  }

  private isHeld(seq: number): boolean {
    return this.unconfirmed.has(seq) || this.spoolSyncing.has(seq) || this.waiting.some((b) => b.seq === seq);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.brokerUsable) {
      while (this.spool && this.inFlight < this.options.maxUnconfirmed) {
        const record = this.spool.next();
        if (!record) break;
        this.publishSpooled(record);
      }
      if (!this.spool?.hasData) {
        while (this.waiting.length > 0 && this.inFlight < this.options.maxUnconfirmed) {
          const batch = this.waiting.shift()!;
          this.unconfirmed.set(batch.seq, batch);
          this.publishOne(batch);
        }
      }
    } else if (this.spool) {
      while (this.waiting.length > 0 && this.toSpool(this.waiting[0]!)) this.waiting.shift();
    }
    this.updatePressure();
  }

  private get inFlight(): number {
    return this.unconfirmed.size + this.spoolInFlight;
  }

  /**
   * Appends to the journal; false when it is full (the batch then stays in memory, bounded by maxBuffered). The
   * batch's waiters are answered only when its record is durable: an ack must never precede the sync.
   */
  private toSpool(batch: HeldBatch): boolean {
    let durable: Promise<void>;
    try {
      durable = this.spool!.append(batch.encoded);
    } catch (err) {
      if (!(err instanceof SpoolFullError)) this.spoolWriteWarning.warn({ err: (err as Error).message });
      this.metrics.spoolFull.inc();
      return false;
    }
    this.metrics.spooledBatches.inc();
    this.updateSpoolMetrics();
    const seq = batch.seq;
    this.spoolSyncing.add(seq);
    durable.then(
      () => {
        this.spoolSyncing.delete(seq);
        this.resolveWaiters(seq);
      },
      (err: unknown) => {
        // Not acknowledged: the sender resends. The record may still replay, with its batch id.
        this.spoolSyncing.delete(seq);
        this.spoolWriteWarning.warn({ err: (err as Error).message });
        this.rejectWaiters(seq, err as Error);
      },
    );
    return true;
  }

  private publishSpooled(record: SpoolRecord): void {
    let messageId: string;
    let events: number;
    try {
      const decoded = decodeNewEventBatch(record.bytes);
      messageId = newBatchId(decoded);
      events = decoded.bodies.length;
    } catch (err) {
      // Only a bug or a disk fault can get here: the journal checksums every record.
      this.log.error({ err: (err as Error).message }, 'undecodable spool record skipped');
      this.spool!.release(record);
      return;
    }
    this.spoolInFlight++;
    const started = process.hrtime.bigint();
    const route = this.options.route();
    this.publisher.publish(route.exchange, record.bytes, { messageId, routingKey: route.routingKey }).then(
      () => {
        this.spoolInFlight--;
        this.spool!.release(record);
        this.metrics.replayedBatches.inc();
        this.confirmed(record.bytes.byteLength, events, started);
        this.updateSpoolMetrics();
        this.pump();
      },
      (err: unknown) => {
        this.spoolInFlight--;
        this.publishFailed(err, messageId);
        this.spool!.rewind();
        this.updateSpoolMetrics();
      },
    );
  }

  private publishOne(batch: HeldBatch): void {
    const started = process.hrtime.bigint();
    const route = this.options.route();
    this.publisher
      .publish(route.exchange, batch.encoded, { messageId: batch.messageId, routingKey: route.routingKey })
      .then(
        () => {
          this.unconfirmed.delete(batch.seq);
          this.confirmed(batch.encoded.byteLength, batch.events, started);
          this.resolveWaiters(batch.seq);
          this.pump();
        },
        (err: unknown) => {
          this.unconfirmed.delete(batch.seq);
          this.requeueInOrder(batch);
          this.publishFailed(err, batch.messageId);
        },
      );
  }

  private confirmed(bytes: number, events: number, started: bigint): void {
    this.metrics.confirmLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.batchesPublished.inc();
    this.metrics.eventsPublished.inc(events);
    this.metrics.bytesPublished.inc(bytes);
    this.metrics.batchEvents.observe(events);
  }

  private publishFailed(err: unknown, messageId: string): void {
    const code = err instanceof PublishError ? err.code : 'UNKNOWN';
    this.metrics.publishFailures.inc({ code });
    this.log.warn({ code, batch: messageId, err: (err as Error).message }, 'batch not confirmed; will resend');
    // A refused publish on a live channel (nack, unroutable) is retried after a pause, not in a hot loop;
    // a lost channel is resumed by the reconnect.
    if (this.publisher.ready) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, 500);
      this.retryTimer.unref();
    } else {
      this.pump(); // spills to the spool while the broker is away
    }
    this.updatePressure();
  }

  private resolveWaiters(seq: number): void {
    const waiters = this.confirmWaiters.get(seq);
    if (waiters) {
      this.confirmWaiters.delete(seq);
      for (const w of waiters) w.resolve();
    }
  }

  private rejectWaiters(seq: number, err: Error): void {
    const waiters = this.confirmWaiters.get(seq);
    if (waiters) {
      this.confirmWaiters.delete(seq);
      for (const w of waiters) w.reject(err);
    }
  }

  private requeueInOrder(batch: HeldBatch): void {
    const at = this.waiting.findIndex((b) => b.seq > batch.seq);
    if (at === -1) this.waiting.push(batch);
    else this.waiting.splice(at, 0, batch);
  }

  private updateSpoolMetrics(): void {
    if (!this.spool) return;
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.metrics.spoolSegments.set(this.spool.segmentCount);
  }

  private updatePressure(): void {
    this.metrics.unconfirmedBatches.set(this.inFlight);
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
