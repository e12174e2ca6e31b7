import type { ConsumeMessage } from 'amqplib';

/**
 * Deliveries of one consumer, taken one at a time by an async loop. The channel's prefetch bounds what waits here;
 * a closed channel or a consumer the broker cancelled ends the wait with an error instead of leaving it hanging.
 */
export class DeliveryInbox {
  private readonly waiting: ConsumeMessage[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;

  /** The consume callback: amqplib hands null when the broker cancelled the consumer. */
  readonly push = (msg: ConsumeMessage | null): void => {
    if (msg === null) this.fail(new Error('the broker cancelled the consumer (was the queue deleted?)'));
    else this.waiting.push(msg);
    this.wake?.();
  };

  fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  /** The next delivery, or null when none came within `timeoutMs`; throws once the channel failed. */
  async next(timeoutMs: number): Promise<ConsumeMessage | null> {
    if (this.waiting.length === 0 && this.failure === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    const msg = this.waiting.shift();
    if (msg) return msg;
    if (this.failure) throw this.failure;
    return null;
  }
}
