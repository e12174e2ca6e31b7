import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';

/** What the receiver holding a receiver id's lease says about itself when asked. */
export interface LeaseHolder {
  readonly receiverId: string;
  readonly bootId: string;
  readonly host: string;
  readonly pid: number;
  /** ISO time the holder started. */
  readonly startedAt: string;
  /** The holder got SIGTERM and releases the lease when its drain ends. */
  readonly draining: boolean;
}

/** RabbitMQ's direct reply-to: a reply reaches the asking channel without a queue of its own. */
const REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * The holder's side: answer every question put to the lease queue with who holds it. Only the connection that
 * declared the exclusive queue may consume from it, while anyone may publish to it, so a contender can tell a live
 * holder (answers at once) from a dead one whose connection the broker has not dropped yet (answers nothing).
 */
export async function answerHolderQuestions(
  channel: Channel,
  leaseQueue: string,
  holder: () => LeaseHolder,
): Promise<void> {
  await channel.consume(
    leaseQueue,
    (msg) => {
      // Cancelled by the broker (someone deleted the queue): closing the channel tells the lease it is lost.
      if (!msg) {
        channel.close().catch(() => undefined);
        return;
      }
      const replyTo = msg.properties.replyTo as unknown;
      if (typeof replyTo !== 'string') return;
      try {
        channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(holder())), {
          correlationId: msg.properties.correlationId as string,
        });
      } catch {
        /* the channel closed under us: the asker sees no answer and asks again */
      }
    },
    { noAck: true, exclusive: true },
  );
}

/**
 * The contender's side: ask who holds the lease. Null when nobody answered within `timeoutMs`: the holder is dead
 * (or frozen) and its connection lingers until the broker misses its heartbeats.
 */
export async function askLeaseHolder(
  model: ChannelModel,
  leaseQueue: string,
  timeoutMs: number,
): Promise<LeaseHolder | null> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined); // a closed channel just means no answer
  const correlationId = randomBytes(8).toString('hex');
  let timer: NodeJS.Timeout | undefined;
  try {
    let deliver: (holder: LeaseHolder | null) => void = () => undefined;
    // In place before the question goes out: direct reply-to refuses a reply address nobody consumes.
    await channel.consume(
      REPLY_TO,
      (msg) => {
        if (msg?.properties.correlationId === correlationId) deliver(parseLeaseHolder(msg.content));
      },
      { noAck: true },
    );
    const answer = new Promise<LeaseHolder | null>((resolve) => {
      deliver = resolve;
      timer = setTimeout(() => resolve(null), timeoutMs);
      channel.once('close', () => resolve(null));
    });
    channel.sendToQueue(leaseQueue, Buffer.from('who holds this lease?'), {
      replyTo: REPLY_TO,
      correlationId,
      expiration: String(timeoutMs), // unanswered questions must not pile up
    });
    return await answer;
  } finally {
    clearTimeout(timer);
    await channel.close().catch(() => undefined);
  }
}

function parseLeaseHolder(content: Buffer): LeaseHolder | null {
  try {
    const v = JSON.parse(content.toString('utf8')) as Partial<LeaseHolder>;
    if (
      typeof v.receiverId !== 'string' ||
      typeof v.bootId !== 'string' ||
      typeof v.host !== 'string' ||
      typeof v.pid !== 'number' ||
      typeof v.startedAt !== 'string' ||
      typeof v.draining !== 'boolean'
    )
      return null;
    return {
      receiverId: v.receiverId,
      bootId: v.bootId,
      host: v.host,
      pid: v.pid,
      startedAt: v.startedAt,
      draining: v.draining,
    };
  } catch {
    return null;
  }
}
