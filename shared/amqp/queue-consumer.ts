import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { backoffDelayMs, type Backoff } from '../backoff.js';
import type { Logger } from '../logger.js';
import { BROKER_BACKOFF } from './broker-endpoints.js';
import type { ConfirmPublisher } from './confirm-publisher.js';

/** Where a delivery that can never be processed goes, and how its sender tells it apart in `<ns>.dead`. */
export interface DeadLetterRoute {
  /** A confirm publisher attached on the same session: a dead letter is acked only once it is confirmed. */
  readonly publisher: ConfirmPublisher;
  readonly exchange: string;
  /** The `x-fanin-stage` header: which process gave up on the message. */
  readonly stage: string;
  /** The error line logged for each dead letter. */
  readonly logMessage: string;
  /** Runs once the dead letter is confirmed, before the ack: the caller's counter. */
  readonly onDeadLettered?: () => void;
}

export interface QueueConsumerOptions {
  readonly queue: string;
  /** Unacknowledged deliveries RabbitMQ may hand this consumer's channel at once. */
  readonly prefetch: number;
  readonly deadLetter: DeadLetterRoute;
  readonly log: Logger;
  /** Asked before consuming starts or restarts; false keeps the channel but consumes nothing (default: always true). */
  readonly mayConsume?: () => boolean;
  /** Delays between attempts to reopen a channel that closed under a live connection. */
  readonly reopenBackoff?: Backoff;
}

export interface QueueConsumerEvents {
  /** Consuming (again): after an attach, a resume or a reopened channel. */
  consuming: [];
  /** The channel is gone: every delivery not yet settled went back to the queue and will be redelivered. */
  detached: [];
}

export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

type Outcome = 'ack' | 'requeue';

/** What a Delivery needs of its consumer; kept apart so a handler only sees the delivery's own methods. */
interface Settler {
  settle(delivery: Delivery, outcome: Outcome): void;
  isLive(delivery: Delivery): boolean;
  deadLetter(delivery: Delivery, reason: string): Promise<void>;
}

/** One message handed to the handler. Settling it twice, or after its channel closed, does nothing. */
export class Delivery {
  constructor(
    readonly message: ConsumeMessage,
    readonly channel: Channel,
    private readonly settler: Settler,
  ) {}

  get content(): Buffer {
    return this.message.content;
  }

  /**
   * Still held by this consumer and worth working on: not settled, its channel still open, and no drain under way.
   * A handler that retries in place (keeping the message unacknowledged) stops when this turns false.
   */
  get live(): boolean {
    return this.settler.isLive(this);
  }

  /** Done with: RabbitMQ forgets the message. */
  ack(): void {
    this.settler.settle(this, 'ack');
  }

  /** Not done: the message goes back to the queue for this or another consumer. */
  requeue(): void {
    this.settler.settle(this, 'requeue');
  }

  /** Never processable: published to the dead-letter exchange with the reason, then acked (requeued if unconfirmed). */
  deadLetter(reason: string): Promise<void> {
    return this.settler.deadLetter(this, reason);
  }
}

/**
 * Consumes one queue on a channel of its own: attaches on every broker session 'ready', hands each delivery to the
 * handler, settles it (ack, requeue, or dead-letter with the reason in headers), and counts what is in flight so a
 * drain can wait for it. A channel that closes under a live connection is reopened with the shared backoff; a lost
 * connection detaches it until the session attaches it again. Deliveries of a channel that closed are already back
 * in the queue: settling them is a no-op, so nothing is acked that was not processed on the channel that holds it.
 */
export class QueueConsumer extends EventEmitter<QueueConsumerEvents> {
  private model: ChannelModel | null = null;
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private starting = false;
  private stopped = false;
  private readonly inflight = new Set<Delivery>();
  private idleWaiters: (() => void)[] = [];
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenAttempt = 0;
  private readonly settler: Settler = {
    settle: (delivery, outcome) => this.settle(delivery, outcome),
    isLive: (delivery) => this.inflight.has(delivery) && delivery.channel === this.channel && !this.stopped,
    deadLetter: (delivery, reason) => this.deadLetter(delivery, reason),
  };

  constructor(
    private readonly o: QueueConsumerOptions,
    private readonly handler: DeliveryHandler,
  ) {
    super();
  }

  get consuming(): boolean {
    return this.consumerTag !== null;
  }
  /** A channel is open (consuming or held). */
  get attached(): boolean {
    return this.channel !== null;
  }
  /** Deliveries handed to the handler and not yet settled, on the current channel. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Opens a channel on a new connection and consumes unless held or stopped. Throws if the channel cannot open. */
  async attach(model: ChannelModel): Promise<void> {
    this.model = model;
    this.cancelReopen();
    if (this.channel) this.forgetChannel(); // a channel of an earlier connection that never reported its loss
    await this.openChannel(model);
  }

  /** The connection is gone (session 'lost'): forget its channel; the next attach starts afresh. */
  detach(): void {
    this.model = null;
    this.cancelReopen();
    this.forgetChannel();
  }

  /** Starts consuming if there is a channel, nothing stops it and `mayConsume` agrees. Never throws. */
  async resume(): Promise<void> {
    const ch = this.channel;
    if (this.starting || this.stopped || this.consumerTag !== null || !ch || !this.mayConsume()) return;
    this.starting = true;
    try {
      const reply = await ch.consume(this.o.queue, (msg) => this.onMessage(ch, msg));
      if (this.channel !== ch) return; // closed meanwhile: its consumer died with it
      this.consumerTag = reply.consumerTag;
      // A hold or a drain that came while the consume was on its way wins.
      if (this.stopped || !this.mayConsume()) {
        await this.pause();
        return;
      }
      this.reopenAttempt = 0;
      this.emit('consuming');
    } catch (err) {
      // The failed consume closed the channel: its close handler reopens it.
      this.o.log.warn({ queue: this.o.queue, err: (err as Error).message }, 'cannot start consuming');
    } finally {
      this.starting = false;
    }
  }

  /** Stops consuming but keeps the channel, so deliveries in flight can still be settled. True if it was consuming. */
  async pause(): Promise<boolean> {
    const tag = this.consumerTag;
    const ch = this.channel;
    this.consumerTag = null;
    if (!tag || !ch) return false;
    await ch.cancel(tag).catch(() => undefined);
    return true;
  }

  /** Stops consuming for good (a drain). True if it was consuming. */
  async stop(): Promise<boolean> {
    this.stopped = true;
    this.cancelReopen();
    return this.pause();
  }

  /** Resolves true once nothing is in flight, or false after `timeoutMs` with deliveries still unsettled. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  /** Closes the channel: whatever is still unsettled goes back to the queue. */
  async close(): Promise<void> {
    this.stopped = true;
    this.cancelReopen();
    const ch = this.channel;
    this.forgetChannel();
    if (ch) await ch.close().catch(() => undefined);
  }

  /** stop, wait for what is in flight (at most `timeoutMs`), close. */
  async drain(timeoutMs: number): Promise<void> {
    await this.stop();
    await this.idle(timeoutMs);
    await this.close();
  }

  private mayConsume(): boolean {
    return this.o.mayConsume ? this.o.mayConsume() : true;
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    ch.on('error', () => undefined); // the close event carries the consequence
    ch.on('close', () => this.onChannelClosed(ch));
    await ch.prefetch(this.o.prefetch);
    if (this.model !== model || this.stopped) {
      await ch.close().catch(() => undefined);
      return;
    }
    this.channel = ch;
    await this.resume();
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) {
      this.onCancelledByBroker(ch);
      return;
    }
    const delivery = new Delivery(msg, ch, this.settler);
    this.inflight.add(delivery);
    try {
      const pending = this.handler(delivery);
      if (pending) pending.catch((err: unknown) => this.handlerFailed(delivery, err));
    } catch (err) {
      this.handlerFailed(delivery, err);
    }
  }

  /** A bug in a handler must neither crash the process nor leave the delivery in flight forever. */
  private handlerFailed(delivery: Delivery, err: unknown): void {
    this.o.log.error(
      { queue: this.o.queue, err: err instanceof Error ? err.message : String(err) },
      'delivery handler failed; delivery returned to the queue',
    );
    this.settle(delivery, 'requeue');
  }

  private settle(delivery: Delivery, outcome: Outcome): void {
    // Not in flight: settled already, or its channel closed and RabbitMQ has requeued it.
    if (!this.inflight.delete(delivery)) return;
    this.wakeIdleWaiters();
    if (delivery.channel !== this.channel) return;
    try {
      if (outcome === 'ack') delivery.channel.ack(delivery.message);
      else delivery.channel.nack(delivery.message, false, true);
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'settle failed');
    }
  }

  private async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const route = this.o.deadLetter;
    const { message } = delivery;
    this.o.log.error({ reason, messageId: message.properties.messageId as unknown }, route.logMessage);
    try {
      await route.publisher.publish(route.exchange, message.content, {
        messageId: String(message.properties.messageId ?? `dead-${Date.now()}`),
        headers: { 'x-fanin-reason': reason, 'x-fanin-stage': route.stage, 'x-fanin-queue': this.o.queue },
      });
    } catch {
      this.settle(delivery, 'requeue');
      return;
    }
    route.onDeadLettered?.();
    this.settle(delivery, 'ack');
  }

  private onChannelClosed(ch: Channel): void {
    if (this.channel !== ch) return;
    this.forgetChannel();
    this.scheduleReopen('consumer channel closed; reopening it');
  }

  /** The broker cancelled the consumer (its queue was deleted, or it moved): consume again after a backoff. */
  private onCancelledByBroker(ch: Channel): void {
    if (this.channel !== ch) return;
    this.consumerTag = null;
    this.scheduleReopen('consumer cancelled by the broker; consuming again');
  }

  private forgetChannel(): void {
    this.channel = null;
    this.consumerTag = null;
    this.inflight.clear();
    this.wakeIdleWaiters();
    this.emit('detached');
  }

  private wakeIdleWaiters(): void {
    if (this.inflight.size > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * A closed channel under a connection that is still attached: reopen it (or re-consume on it) after a backoff.
   * A lost connection detaches before the timer fires, and the session's next 'ready' attaches again.
   */
  private scheduleReopen(why: string): void {
    if (this.stopped || this.reopenTimer || !this.model) return;
    this.reopenAttempt++;
    const delayMs = backoffDelayMs(this.reopenAttempt, this.o.reopenBackoff ?? BROKER_BACKOFF);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      const model = this.model;
      if (this.stopped || !model) return;
      this.o.log.warn({ queue: this.o.queue, attempt: this.reopenAttempt }, why);
      if (this.channel) {
        void this.resume();
        return;
      }
      this.openChannel(model).catch((err: Error) => {
        this.o.log.warn({ queue: this.o.queue, err: err.message }, 'cannot reopen the consumer channel');
        this.scheduleReopen(why);
      });
    }, delayMs);
    this.reopenTimer.unref();
  }

  private cancelReopen(): void {
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
  }
}
