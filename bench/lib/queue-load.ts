/**
 * One bounded load run on one queue, shaped like fanin's `<ns>.new`: publishers that behave like receivers (own
 * connection, confirm channel, persistent mandatory publishes of whole batches, at most `maxUnconfirmed` awaiting
 * confirms) and consumers that behave like dedup workers (own connection, prefetch, one ack per batch), except that
 * a consumer acks at once: what is measured is the queue, not the dedup work.
 *
 * The loop is closed: at most `maxBacklog` batches may be published and not yet acked, so a queue that cannot
 * deliver as fast as it accepts shows up as a lower rate, not as a growing backlog counted as throughput. The run
 * counts what was acked (and confirmed) inside the measured window, after a warm-up, and is bounded in time and in
 * batches published.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { ConfirmPublisher } from '../../shared/amqp/confirm-publisher.js';
import { newBatchId } from '../../shared/batch-codec.js';
import type { BatchPool } from './fanin-batches.js';

export interface QueueLoadOptions {
  /** Where each publisher connects, in turn (publisher i uses publisherUrls[i % length]). */
  readonly publisherUrls: readonly string[];
  readonly consumerUrls: readonly string[];
  readonly exchange: string;
  readonly queue: string;
  /** One pool per publisher: its receiver id and its batches, published in turn. */
  readonly pools: readonly BatchPool[];
  readonly consumers: number;
  readonly maxUnconfirmed: number;
  readonly prefetch: number;
  readonly maxBacklog: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Batches per second for all publishers together; 0 publishes as fast as the bounds allow. */
  readonly targetBatchesPerSecond: number;
  /** Upper bound on batches published in the whole run. */
  readonly maxBatches: number;
  /** Called at the start and at the end of the measured window (CPU snapshots). */
  readonly onWindow: (edge: 'start' | 'end') => void;
}

export interface QueueLoadResult {
  readonly windowSeconds: number;
  readonly batchesAcked: number;
  readonly eventsAcked: number;
  readonly batchesConfirmed: number;
  readonly eventsConfirmed: number;
  /** Confirm latency of each publish confirmed inside the window, ms. */
  readonly confirmLatenciesMs: number[];
  /** Batches published and not yet acked, highest seen. */
  readonly maxBacklogSeen: number;
  readonly published: number;
  readonly publishErrors: string[];
}

/** Published-but-unacked accounting shared by publishers and consumers, with a gate publishers wait on. */
class Backlog {
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  max = 0;
  readonly events = new Map<string, number>();

  constructor(private readonly bound: number) {}

  async admit(deadline: number): Promise<boolean> {
    while (this.inFlight >= this.bound) {
      if (performance.now() > deadline) return false;
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(100)]);
    }
    this.inFlight++;
    this.max = Math.max(this.max, this.inFlight);
    return true;
  }

  /** A publish failed: its slot is free again. */
  release(): void {
    this.inFlight--;
    this.wake();
  }

  /** A batch was acked; returns its events (0 for a message this run did not publish). */
  acked(messageId: string): number {
    const events = this.events.get(messageId);
    if (events === undefined) return 0;
    this.events.delete(messageId);
    this.inFlight--;
    this.wake();
    return events;
  }

  get size(): number {
    return this.inFlight;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

export async function runQueueLoad(o: QueueLoadOptions): Promise<QueueLoadResult> {
  const models: ChannelModel[] = [];
  const open = async (url: string) => {
    const m = await connect(url);
    m.on('error', () => undefined);
    models.push(m);
    return m;
  };
  const backlog = new Backlog(o.maxBacklog);
  const t0 = performance.now();
  const windowStart = t0 + o.warmupSeconds * 1000;
  const windowEnd = windowStart + o.seconds * 1000;
  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const latencies: number[] = [];
  const errors: string[] = [];
  let batchesAcked = 0,
    eventsAcked = 0,
    batchesConfirmed = 0,
    eventsConfirmed = 0,
    published = 0;

  try {
    const channels: Channel[] = [];
    for (let c = 0; c < o.consumers; c++) {
      const ch = await (await open(o.consumerUrls[c % o.consumerUrls.length]!)).createChannel();
      ch.on('error', () => undefined);
      await ch.prefetch(o.prefetch);
      await ch.consume(
        o.queue,
        (msg: ConsumeMessage | null) => {
          if (!msg) return;
          ch.ack(msg);
          const events = backlog.acked(String(msg.properties.messageId));
          if (events > 0 && inWindow(performance.now())) {
            batchesAcked++;
            eventsAcked += events;
          }
        },
        { noAck: false },
      );
      channels.push(ch);
    }

    let ticket = 0;
    const publishLoop = async (publisher: ConfirmPublisher, pool: BatchPool, seqStart: () => number) => {
      while (published < o.maxBatches && errors.length < 10) {
        const now = performance.now();
        if (now >= windowEnd) return;
        if (o.targetBatchesPerSecond > 0) {
          const due = t0 + (ticket++ / o.targetBatchesPerSecond) * 1000;
          if (due >= windowEnd) return;
          if (due > now) await sleep(due - now);
        }
        if (!(await backlog.admit(windowEnd))) return;
        const seq = seqStart();
        const batch = pool.batches[seq % pool.batches.length]!;
        const messageId = newBatchId({ receiverId: pool.receiverId, bootId: pool.bootId, seq });
        backlog.events.set(messageId, batch.events);
        published++;
        const sent = performance.now();
        try {
          await publisher.publish(o.exchange, batch.payload, { messageId });
          const done = performance.now();
          if (inWindow(done)) {
            batchesConfirmed++;
            eventsConfirmed += batch.events;
            latencies.push(done - sent);
          }
        } catch (err) {
          backlog.events.delete(messageId);
          backlog.release();
          errors.push((err as Error).message);
        }
      }
    };

    const loops: Promise<void>[] = [];
    for (let p = 0; p < o.pools.length; p++) {
      const publisher = new ConfirmPublisher();
      await publisher.attach(await open(o.publisherUrls[p % o.publisherUrls.length]!));
      let nextSeq = 0;
      // maxUnconfirmed concurrent loops give at most that many publishes awaiting a confirm, like the receiver's window.
      for (let w = 0; w < o.maxUnconfirmed; w++) loops.push(publishLoop(publisher, o.pools[p]!, () => nextSeq++));
    }
    const windowTimer = (async () => {
      await sleep(Math.max(0, windowStart - performance.now()));
      o.onWindow('start');
      await sleep(Math.max(0, windowEnd - performance.now()));
      o.onWindow('end');
    })();
    await Promise.all([...loops, windowTimer]);

    // Let what is still in the queue drain (bounded), so the next run starts from an empty queue.
    const drainDeadline = performance.now() + 30_000;
    while (backlog.size > 0 && performance.now() < drainDeadline) await sleep(50);
    for (const ch of channels) await ch.close().catch(() => undefined);
  } finally {
    await Promise.all(models.map((m) => m.close().catch(() => undefined)));
  }
  return {
    windowSeconds: o.seconds,
    batchesAcked,
    eventsAcked,
    batchesConfirmed,
    eventsConfirmed,
    confirmLatenciesMs: latencies,
    maxBacklogSeen: backlog.max,
    published,
    publishErrors: errors,
  };
}
