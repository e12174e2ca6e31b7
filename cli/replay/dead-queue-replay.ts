import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { ConfirmPublisher } from '../../shared/amqp/confirm-publisher.js';
import { decodeNewEventBatch, decodeProcessedBatch } from '../../shared/batch-codec.js';
import { deadLetterOrigin, type DeadLetterOrigin } from './dead-letter-origin.js';
import { DeliveryInbox } from './delivery-inbox.js';
import { PublishWindow } from './publish-window.js';
import { selectsReason, selectsSink, type ReplaySelection } from './replay-selection.js';
import type { ReplayTally } from './replay-tally.js';

export interface DeadReplayOptions {
  readonly namespace: string;
  /** The sinks of this configuration: a batch of any other sink has no consumer to go back to. */
  readonly configuredSinks: readonly string[];
  readonly selection: ReplaySelection;
  readonly dryRun: boolean;
  /** Publishes awaiting their confirm at once (each holds one batch in memory). */
  readonly window: number;
  /** Asked before each message: false stops the pass (Ctrl-C) after what is in flight. */
  readonly keepGoing: () => boolean;
}

type Decision =
  | { readonly replay: true; readonly queue: string; readonly target: string; readonly events: number }
  | { readonly replay: false; readonly why: string; readonly events: number };

/** How long the pass waits for a delivery before it checks whether `<ns>.dead` was emptied by someone else. */
const IDLE_CHECK_MS = 2000;

/**
 * One pass over `<ns>.dead`: as many messages as it held at the start, consumed with manual acks. A selected batch
 * is published to its queue with a confirm and acked only after the confirm, so a crash replays it again at most
 * (same ids), never loses it. A batch it leaves is published to the tail of `<ns>.dead` (same content and headers)
 * and then acked: nack-requeue would raise its delivery count on every replay (quorum queues drop or dead-letter a
 * message past its delivery limit) and may hand it straight back to this pass; the pass ends after the count
 * measured at the start, so nothing is looked at twice. The prefetch is the publish window, so memory holds at most
 * that many batches. A dry run acks nothing: it holds every message unacknowledged (no prefetch limit, each dropped
 * once counted) and closes its channel at the end, which returns them all to the queue. (basic.get would need no
 * prefetch, but on a quorum queue a get after each ack is far too slow for a replay of thousands of batches;
 * docs/replay.md has the measurement.)
 */
export async function replayDeadQueue(model: ChannelModel, o: DeadReplayOptions, tally: ReplayTally): Promise<void> {
  const deadQueue = `${o.namespace}.dead`;
  const count = await queueLength(model, deadQueue);
  if (count === null) {
    tally.notes.push(`${deadQueue} does not exist: no dead letters to replay`);
    return;
  }
  tally.deadTotal = count;
  if (count === 0) return;
  const channel = await openChannel(model);
  const inbox = new DeliveryInbox();
  channel.on('close', () => inbox.fail(new Error(`the channel consuming ${deadQueue} closed`)));
  const pass = new DeadQueuePass(model, o, tally, deadQueue, channel);
  try {
    if (!o.dryRun) await pass.publisher.attach(model);
    // Checked before consuming: a dry run takes deliveries without a prefetch limit, and they wait while it checks.
    for (const sink of o.configuredSinks) await pass.queueExists(`${o.namespace}.sink.${sink}`);
    await channel.prefetch(o.dryRun ? 0 : o.window);
    const { consumerTag } = await channel.consume(deadQueue, inbox.push, { noAck: false });
    while (tally.deadSeen < count && o.keepGoing()) {
      const msg = await inbox.next(IDLE_CHECK_MS);
      if (msg === null) {
        if ((await queueLength(model, deadQueue)) === 0) break; // emptied meanwhile (another replay, a purge)
        continue;
      }
      tally.deadSeen++;
      await pass.handle(msg);
    }
    // Deliveries past the count (dead letters that came later, or this pass's own copies) return at the close.
    await channel.cancel(consumerTag);
    await pass.window.drain();
  } finally {
    await pass.close();
  }
}

class DeadQueuePass {
  readonly publisher = new ConfirmPublisher();
  readonly window: PublishWindow;
  /** Target queue → whether it exists, checked once per queue. */
  private readonly queues = new Map<string, boolean>();

  constructor(
    private readonly model: ChannelModel,
    private readonly o: DeadReplayOptions,
    private readonly tally: ReplayTally,
    private readonly deadQueue: string,
    readonly channel: Channel,
  ) {
    this.window = new PublishWindow(o.window);
  }

  async handle(msg: ConsumeMessage): Promise<void> {
    const origin = deadLetterOrigin(this.o.namespace, msg.properties.headers);
    let decision = decide(origin, msg.content, this.o);
    if (decision.replay && !(await this.queueExists(decision.queue))) {
      decision = {
        replay: false,
        why: `queue ${decision.queue} does not exist (start the uploader with sink ${decision.target} first)`,
        events: decision.events,
      };
    }
    if (this.o.dryRun) {
      // Held unacknowledged until the channel closes.
      if (decision.replay) this.tally.addReplayed('dead', decision.target, origin.reason, decision.events);
      else this.tally.addLeft(decision.why, decision.events);
      return;
    }
    if (!decision.replay) {
      await this.keep(msg, decision.why, decision.events);
      return;
    }
    const { queue, target, events } = decision;
    await this.window.add(
      this.publisher
        .publish('', msg.content, {
          messageId: messageIdOf(msg),
          routingKey: queue,
          headers: { 'x-fanin-replayed-from': this.deadQueue, 'x-fanin-replayed-reason': origin.detail.slice(0, 1000) },
        })
        .then(() => {
          this.channel.ack(msg);
          this.tally.addReplayed('dead', target, origin.reason, events);
        }),
    );
  }

  /** Leaves the message in `<ns>.dead`: a copy to its tail (same content, id and headers), confirmed, then the ack. */
  private async keep(msg: ConsumeMessage, why: string, events: number): Promise<void> {
    await this.window.add(
      this.publisher
        .publish('', msg.content, {
          messageId: messageIdOf(msg),
          routingKey: this.deadQueue,
          headers: msg.properties.headers,
        })
        .then(() => {
          this.channel.ack(msg);
          this.tally.addLeft(why, events);
        }),
    );
  }

  async queueExists(queue: string): Promise<boolean> {
    let exists = this.queues.get(queue);
    if (exists === undefined) {
      exists = (await queueLength(this.model, queue)) !== null;
      this.queues.set(queue, exists);
    }
    return exists;
  }

  async close(): Promise<void> {
    await this.window.settle();
    // Closing returns whatever is still unacknowledged: everything a dry run looked at, or a batch whose publish failed.
    await this.channel.close().catch(() => undefined);
    await this.publisher.close();
  }
}

function decide(origin: DeadLetterOrigin, content: Buffer, o: DeadReplayOptions): Decision {
  const { target } = origin;
  if (target.kind === 'unknown') {
    return {
      replay: false,
      why:
        target.queue === null
          ? 'origin unknown (no x-fanin-queue or x-death header)'
          : `origin ${target.queue} is not a queue of this namespace`,
      events: 0,
    };
  }
  if (target.kind === 'new') {
    const events = countEvents(() => decodeNewEventBatch(content).bodies.length);
    if (!o.selection.includeNew)
      return { replay: false, why: `from ${target.queue} (--new replays it there)`, events: events ?? 0 };
    if (!selectsReason(o.selection, origin.reason))
      return { replay: false, why: `not selected (${target.queue}, reason ${origin.reason})`, events: events ?? 0 };
    if (events === null)
      return { replay: false, why: `from ${target.queue}: does not decode (${origin.detail})`, events: 0 };
    return { replay: true, queue: target.queue, target: target.queue, events };
  }
  const events = countEvents(() => decodeProcessedBatch(content).ids.length);
  if (!selectsSink(o.selection, target.sink) || !selectsReason(o.selection, origin.reason)) {
    return { replay: false, why: `not selected (sink ${target.sink}, reason ${origin.reason})`, events: events ?? 0 };
  }
  if (!o.configuredSinks.includes(target.sink))
    return { replay: false, why: `sink ${target.sink} is not in this configuration's sinks`, events: events ?? 0 };
  // Published again, a batch no one can decode would only come back here.
  if (events === null)
    return { replay: false, why: `sink ${target.sink}: does not decode (${origin.detail})`, events: 0 };
  return { replay: true, queue: target.queue, target: target.sink, events };
}

function countEvents(decode: () => number): number | null {
  try {
    return decode();
  } catch {
    return null;
  }
}

function messageIdOf(msg: ConsumeMessage): string {
  const id = msg.properties.messageId as unknown;
  return typeof id === 'string' && id !== '' ? id : `dead-${msg.fields.deliveryTag}`;
}

async function openChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined); // a refused call rejects with why; the caller handles that
  return channel;
}

/** The queue's length, or null when it does not exist (checked on a channel of its own: a failed check closes it). */
export async function queueLength(model: ChannelModel, queue: string): Promise<number | null> {
  const channel = await openChannel(model);
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return null;
    throw err;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
