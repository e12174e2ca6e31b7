import type { ChannelModel } from 'amqplib';
import type { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { QueueConsumer, type Delivery } from '../shared/amqp/queue-consumer.js';
import { backoffDelayMs, type Backoff } from '../shared/backoff.js';
import { BatchDecodeError, decodeProcessedBatch, type ProcessedBatch } from '../shared/batch-codec.js';
import type { Logger } from '../shared/logger.js';
import type { RouteSelector, UnroutedCounts } from './routing/route-selector.js';
import { PermanentSinkError, type Sink } from './sink.js';
import type { UploaderMetrics } from './uploader-metrics.js';

export interface SinkConsumerOptions {
  readonly queue: string;
  readonly deadExchange: string;
  readonly prefetch: number;
  /** Most processed batches in one sink write (default: half the prefetch). */
  readonly batchSize?: number;
  readonly flushIntervalMs: number;
  /** Attempts on the sink before the batches go to the secondary (td-agent's <secondary>). */
  readonly maxAttempts: number;
  /** Where batches go after maxAttempts failures; null: keep retrying the sink. */
  readonly secondary: Sink | null;
  /** Which events of each batch this sink takes (docs/routing.md); absent: all of them. */
  readonly route?: RouteSelector;
}

interface Pending {
  readonly delivery: Delivery;
  readonly batch: ProcessedBatch;
  /** Events of this delivery that no sink takes, counted when it is settled, not when it arrives. */
  readonly unrouted: UnroutedCounts | null;
}

/** Delays between failed writes of one batch: a sink that hiccups is retried at once, one that is down is not hammered. */
const SINK_RETRY_BACKOFF: Backoff = { initialDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Drains one sink's queue into the sink: deliveries are gathered for up to flushIntervalMs (or until half the
 * prefetch is waiting), written in one call, and acked only after the write resolved. A failed write is retried
 * with backoff while the messages stay unacknowledged, so a slow sink holds only its own queue.
 */
export class SinkConsumer {
  private readonly queue: QueueConsumer;
  private pending: Pending[] = [];
  private readonly route: RouteSelector | null;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly sink: Sink,
    deadLetterPublisher: ConfirmPublisher,
    private readonly options: SinkConsumerOptions,
    private readonly metrics: UploaderMetrics,
    private readonly log: Logger,
  ) {
    this.route = options.route && !options.route.passesEverything ? options.route : null;
    this.queue = new QueueConsumer(
      {
        queue: options.queue,
        prefetch: options.prefetch,
        log: log.child({ sink: sink.name }),
        deadLetter: {
          publisher: deadLetterPublisher,
          exchange: options.deadExchange,
          stage: `uploader:${sink.name}`,
          logMessage: 'undecodable processed batch sent to the dead-letter queue',
          onDeadLettered: () => metrics.deadLettered.inc({ sink: sink.name }),
        },
      },
      (delivery) => this.onDelivery(delivery),
    );
    // Unacked deliveries went back to the queue with the channel: forget them, they will be redelivered.
    this.queue.on('detached', () => {
      this.pending = [];
    });
  }

  get consuming(): boolean {
    return this.queue.consuming;
  }

  private get batchSize(): number {
    return this.options.batchSize ?? Math.max(1, Math.floor(this.options.prefetch / 2));
  }

  attach(model: ChannelModel): Promise<void> {
    return this.queue.attach(model);
  }

  async reopen(): Promise<void> {
    await this.sink.reopen?.();
    await this.options.secondary?.reopen?.();
  }

  detach(): void {
    this.queue.detach();
  }

  /** Stop consuming, write and ack what is gathered. */
  async drain(): Promise<void> {
    await this.queue.stop();
    // Writes run batchSize at a time and each one starts the next: wait until none runs and nothing is gathered.
    for (let i = 0; i < 100_000 && (this.writing || (this.pending.length > 0 && this.queue.attached)); i++) {
      if (this.writing) await this.writing;
      else await this.flush();
    }
    await this.queue.close();
    await this.sink.close();
    await this.options.secondary?.close();
  }

  private onDelivery(delivery: Delivery): void {
    let batch: ProcessedBatch;
    try {
      batch = decodeProcessedBatch(delivery.content);
    } catch (err) {
      if (err instanceof BatchDecodeError) {
        void delivery.deadLetter(err.message);
        return;
      }
      throw err;
    }
    let unrouted: UnroutedCounts | null = null;
    if (this.route) {
      const selection = this.route.select(batch);
      if (selection.left > 0) this.metrics.eventsUnmatched.inc({ sink: this.sink.name }, selection.left);
      unrouted = selection.unrouted;
      if (selection.batch === null) {
        // Nothing here for this sink: settled at once, never written (not even as an empty write).
        delivery.ack();
        this.countUnrouted(unrouted);
        return;
      }
      batch = selection.batch;
    }
    this.pending.push({ delivery, batch, unrouted });
    if (this.pending.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs);
  }

  private async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writing) return; // the running write flushes again when it finishes
    const items = this.pending.splice(0, this.batchSize);
    if (!this.queue.attached || items.length === 0) return;
    this.writing = this.deliver(items).finally(() => {
      this.writing = null;
      if (this.pending.length > 0) void this.flush();
    });
    await this.writing;
  }

  /**
   * Writes and acks; never acks what is not written (a delivery whose channel closed meanwhile acks nothing). A
   * permanent failure dead-letters the deliveries one by one (so one bad batch does not take its neighbours along).
   */
  private async deliver(items: Pending[]): Promise<void> {
    try {
      await this.writeWithRetry(items.map((i) => i.batch));
      for (const i of items) {
        i.delivery.ack();
        this.countUnrouted(i.unrouted);
      }
    } catch (err) {
      if (!(err instanceof PermanentSinkError)) throw err;
      if (items.length > 1) {
        for (const item of items) await this.deliver([item]);
        return;
      }
      this.countUnrouted(items[0]!.unrouted);
      await items[0]!.delivery.deadLetter(`sink ${this.sink.name}: ${err.message}`);
    }
  }

  private countUnrouted(counts: UnroutedCounts | null): void {
    if (counts === null) return;
    for (const reason of ['no_match', 'excluded', 'severity'] as const) {
      if (counts[reason] > 0) this.metrics.unrouted.inc({ reason }, counts[reason]);
    }
  }

  private async writeWithRetry(batches: ProcessedBatch[]): Promise<void> {
    const sink = this.sink.name;
    for (let attempt = 1; ; attempt++) {
      const started = process.hrtime.bigint();
      try {
        const result = await this.sink.write(batches);
        this.metrics.writeSeconds.observe({ sink }, Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics.eventsWritten.inc({ sink }, result.written);
        if (result.rejected > 0) this.metrics.eventsRejected.inc({ sink }, result.rejected);
        const now = Date.now();
        const latency = this.metrics.endToEndLatency.labels(sink);
        for (const t of result.receivedAt) latency.observe((now - t) / 1000);
        return;
      } catch (err) {
        if (err instanceof PermanentSinkError) throw err;
        this.metrics.writeFailures.inc({ sink });
        if (
          attempt >= this.options.maxAttempts &&
          this.options.secondary &&
          (await this.writeSecondary(batches, err as Error))
        )
          return;
        const delay = backoffDelayMs(attempt, SINK_RETRY_BACKOFF);
        this.log.warn({ sink, attempt, delayMs: delay, err: (err as Error).message }, 'sink write failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** True when the secondary took the batches; false keeps the primary retrying (nothing is acked unwritten). */
  private async writeSecondary(batches: ProcessedBatch[], cause: Error): Promise<boolean> {
    try {
      const result = await this.options.secondary!.write(batches);
      this.metrics.secondaryEvents.inc({ sink: this.sink.name }, result.written + result.rejected);
      this.log.error(
        { sink: this.sink.name, events: result.written, cause: cause.message },
        'sink keeps failing; batches written to the secondary',
      );
      return true;
    } catch (err) {
      this.log.error(
        { sink: this.sink.name, err: (err as Error).message },
        'secondary write failed too; retrying the sink',
      );
      return false;
    }
  }
}
