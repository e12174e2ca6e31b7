import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { BatchDecodeError, decodeProcessedBatch, type ProcessedBatch } from '../shared/batch-codec.js';
import type { Logger } from '../shared/logger.js';
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
}

/**
 * Drains one sink's queue into the sink: deliveries are gathered for up to flushIntervalMs (or until half the
 * prefetch is waiting), written in one call, and acked only after the write resolved. A failed write is retried
 * with backoff while the messages stay unacknowledged, so a slow sink holds only its own queue.
 */
export class SinkConsumer {
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private pending: { msg: ConsumeMessage; batch: ProcessedBatch }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly sink: Sink,
    private readonly deadLetterPublisher: ConfirmPublisher,
    private readonly options: SinkConsumerOptions,
    private readonly metrics: UploaderMetrics,
    private readonly log: Logger,
  ) {}

  get consuming(): boolean { return this.consumerTag !== null; }

  private get batchSize(): number { return this.options.batchSize ?? Math.max(1, Math.floor(this.options.prefetch / 2)); }

  async attach(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (this.channel !== ch) return;
      // Unacked deliveries went back to the queue with the channel: forget them, they will be redelivered.
      this.channel = null;
      this.consumerTag = null;
      this.pending = [];
    });
    await ch.prefetch(this.options.prefetch);
    this.channel = ch;
    if (this.stopping) return;
    const reply = await ch.consume(this.options.queue, (msg) => { if (msg) this.onDelivery(ch, msg); });
    this.consumerTag = reply.consumerTag;
  }

  async reopen(): Promise<void> {
    await this.sink.reopen?.();
    await this.options.secondary?.reopen?.();
  }

  detach(): void { this.channel = null; this.consumerTag = null; this.pending = []; }

  /** Stop consuming, write and ack what is gathered. */
  async drain(): Promise<void> {
    this.stopping = true;
    if (this.channel && this.consumerTag) await this.channel.cancel(this.consumerTag).catch(() => undefined);
    this.consumerTag = null;
    // Writes run batchSize at a time and each one starts the next: wait until none runs and nothing is gathered.
    for (let i = 0; i < 100_000 && (this.writing || (this.pending.length > 0 && this.channel)); i++) {
      if (this.writing) await this.writing; else await this.flush();
    }
    await this.channel?.close().catch(() => undefined);
    await this.sink.close();
    await this.options.secondary?.close();
  }

  private onDelivery(ch: Channel, msg: ConsumeMessage): void {
    let batch: ProcessedBatch;
    try {
      batch = decodeProcessedBatch(msg.content);
    } catch (err) {
      if (err instanceof BatchDecodeError) { void this.deadLetter(ch, msg, err.message); return; }
      throw err;
    }
    this.pending.push({ msg, batch });
    if (this.pending.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs);
  }

  private async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.writing) return; // the running write flushes again when it finishes
    const ch = this.channel;
    const items = this.pending.splice(0, this.batchSize);
    if (!ch || items.length === 0) return;
    this.writing = this.deliver(ch, items).finally(() => {
      this.writing = null;
      if (this.pending.length > 0) void this.flush();
    });
    await this.writing;
  }

  /**
   * Writes and acks; never acks what is not written. A permanent failure dead-letters the deliveries one by one
   * (so one bad batch does not take its neighbours along).
   */
  private async deliver(ch: Channel, items: { msg: ConsumeMessage; batch: ProcessedBatch }[]): Promise<void> {
    try {
      await this.writeWithRetry(items.map((i) => i.batch));
      if (ch === this.channel) for (const i of items) ch.ack(i.msg);
    } catch (err) {
      if (!(err instanceof PermanentSinkError)) throw err;
      if (items.length > 1) {
        for (const item of items) await this.deliver(ch, [item]);
        return;
      }
      await this.deadLetter(ch, items[0]!.msg, `sink ${this.sink.name}: ${err.message}`);
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
        if (attempt >= this.options.maxAttempts && this.options.secondary && await this.writeSecondary(batches, err as Error)) return;
        const delay = Math.min(100 * 2 ** Math.min(attempt, 10), 10_000) * (0.7 + Math.random() * 0.6);
        this.log.warn({ sink, attempt, delayMs: Math.round(delay), err: (err as Error).message }, 'sink write failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** True when the secondary took the batches; false keeps the primary retrying (nothing is acked unwritten). */
  private async writeSecondary(batches: ProcessedBatch[], cause: Error): Promise<boolean> {
    try {
      const result = await this.options.secondary!.write(batches);
      this.metrics.secondaryEvents.inc({ sink: this.sink.name }, result.written + result.rejected);
      this.log.error({ sink: this.sink.name, events: result.written, cause: cause.message }, 'sink keeps failing; batches written to the secondary');
      return true;
    } catch (err) {
      this.log.error({ sink: this.sink.name, err: (err as Error).message }, 'secondary write failed too; retrying the sink');
      return false;
    }
  }

  private async deadLetter(ch: Channel, msg: ConsumeMessage, reason: string): Promise<void> {
    this.log.error({ sink: this.sink.name, reason }, 'undecodable processed batch sent to the dead-letter queue');
    try {
      await this.deadLetterPublisher.publish(this.options.deadExchange, msg.content, {
        messageId: String(msg.properties.messageId ?? `dead-${Date.now()}`),
        headers: { 'x-fanin-reason': reason, 'x-fanin-stage': `uploader:${this.sink.name}`, 'x-fanin-queue': this.options.queue },
      });
      this.metrics.deadLettered.inc({ sink: this.sink.name });
      if (ch === this.channel) ch.ack(msg);
    } catch {
      if (ch === this.channel) ch.nack(msg, false, true);
    }
  }
}
