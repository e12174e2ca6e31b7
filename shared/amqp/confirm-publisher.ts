import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';

/** Why a publish was not accepted; the caller keeps the batch and retries it (same batch id) or holds intake. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly code: 'NOT_CONNECTED' | 'NACKED' | 'UNROUTABLE' | 'CHANNEL_CLOSED',
    message: string,
  ) {
    super(message);
  }
}

export interface PublishOptions {
  readonly messageId: string;
  /** For a direct exchange (the shards of `<ns>.new`); fanout exchanges ignore it. */
  readonly routingKey?: string;
  readonly headers?: Record<string, unknown>;
}

/**
 * Publishes persistent, mandatory messages on a confirm channel and resolves each only when RabbitMQ confirmed it.
 * `mandatory` turns "no queue bound" into an error instead of a silent drop: RabbitMQ returns the message before it
 * confirms it, so a returned message id is failed at its confirm.
 */
export class ConfirmPublisher {
  private channel: ConfirmChannel | null = null;
  private readonly returned = new Set<string>();
  private readonly pending = new Map<number, (err: PublishError) => void>();
  private nextPendingId = 0;

  async attach(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('return', (msg: Message) => {
      const id = msg.properties.messageId as unknown;
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('error', () => undefined); // the close event below carries the consequence
    channel.on('close', () => {
      if (this.channel === channel) this.channel = null;
      this.failAllPending();
    });
    this.channel = channel;
  }

  get ready(): boolean {
    return this.channel !== null;
  }

  detach(): void {
    this.channel = null;
    this.failAllPending();
  }

  publish(exchange: string, content: Buffer, options: PublishOptions): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new PublishError('NOT_CONNECTED', 'no broker channel'));
    return new Promise<void>((resolve, reject) => {
      const pendingId = this.nextPendingId++;
      let settled = false;
      const settle = (err: PublishError | null) => {
        if (settled) return;
        settled = true;
        this.pending.delete(pendingId);
        if (err) reject(err);
        else resolve();
      };
      this.pending.set(pendingId, settle);
      try {
        channel.publish(
          exchange,
          options.routingKey ?? '',
          content,
          {
            persistent: true,
            mandatory: true,
            messageId: options.messageId,
            headers: options.headers,
            contentType: 'application/msgpack',
          },
          (err: unknown) => {
            const wasReturned = this.returned.delete(options.messageId);
            if (err) settle(new PublishError('NACKED', `broker refused message ${options.messageId}`));
            else if (wasReturned)
              settle(new PublishError('UNROUTABLE', `no queue bound to ${exchange} for ${options.messageId}`));
            else settle(null);
          },
        );
      } catch (err) {
        settle(new PublishError('CHANNEL_CLOSED', (err as Error).message));
      }
    });
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    if (channel) await channel.close().catch(() => undefined);
    this.failAllPending();
  }

  private failAllPending(): void {
    for (const settle of [...this.pending.values()])
      settle(new PublishError('CHANNEL_CLOSED', 'broker channel closed before confirm'));
  }
}
