import { connect } from 'amqplib';
import { Redis } from 'ioredis';

/**
 * Removes what a bench namespace left on the broker and in Redis. Each delete gets its own channel: deleting
 * something that does not exist may close the channel with an error on some RabbitMQ versions.
 */
export async function deleteBrokerObjects(
  amqpUrl: string,
  queues: readonly string[],
  exchanges: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  const model = await connect(amqpUrl);
  model.on('error', () => undefined);
  try {
    const once = async (
      what: string,
      op: (ch: Awaited<ReturnType<typeof model.createChannel>>) => Promise<unknown>,
    ) => {
      const ch = await model.createChannel();
      ch.on('error', () => undefined);
      try {
        await op(ch);
        await ch.close();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    for (const q of queues) await once(`queue ${q}`, (ch) => ch.deleteQueue(q));
    for (const e of exchanges) await once(`exchange ${e}`, (ch) => ch.deleteExchange(e));
  } finally {
    await model.close().catch(() => undefined);
  }
  return problems;
}

/** SCAN + UNLINK every key under `<prefix>*`; returns how many were unlinked. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** Messages still in each queue (null: the queue does not exist). */
export async function queueDepths(amqpUrl: string, queues: readonly string[]): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  const model = await connect(amqpUrl);
  model.on('error', () => undefined);
  try {
    for (const q of queues) {
      const ch = await model.createChannel();
      ch.on('error', () => undefined);
      try {
        out[q] = (await ch.checkQueue(q)).messageCount;
        await ch.close();
      } catch {
        out[q] = null;
      }
    }
  } finally {
    await model.close().catch(() => undefined);
  }
  return out;
}

/**
 * Samples the depth of some queues on a timer (passive declare on one channel per queue) and keeps max and mean:
 * the queue that grows during a saturated run sits in front of the bottleneck stage.
 */
export class QueueProbe {
  private model: Awaited<ReturnType<typeof connect>> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly stats = new Map<string, { max: number; sum: number; n: number }>();

  constructor(
    private readonly amqpUrl: string,
    private readonly queues: readonly string[],
  ) {}

  async start(intervalMs: number): Promise<void> {
    this.model = await connect(this.amqpUrl);
    this.model.on('error', () => undefined);
    this.timer = setInterval(() => {
      void this.sample();
    }, intervalMs);
  }

  reset(): void {
    this.stats.clear();
  }

  /** Per queue: max and mean depth since the last reset. */
  summary(): Record<string, { max: number; mean: number }> {
    return Object.fromEntries(
      this.queues
        .filter((q) => this.stats.has(q))
        .map((q) => {
          const s = this.stats.get(q)!;
          return [q, { max: s.max, mean: Math.round(s.sum / Math.max(1, s.n)) }];
        }),
    );
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.model?.close().catch(() => undefined);
    this.model = null;
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.model) return;
    this.busy = true;
    try {
      const ch = await this.model.createChannel();
      ch.on('error', () => undefined);
      try {
        for (const q of this.queues) {
          const { messageCount } = await ch.checkQueue(q);
          const s = this.stats.get(q) ?? { max: 0, sum: 0, n: 0 };
          s.max = Math.max(s.max, messageCount);
          s.sum += messageCount;
          s.n++;
          this.stats.set(q, s);
        }
      } finally {
        await ch.close().catch(() => undefined);
      }
    } catch {
      /* the queue vanished or the broker is busy: skip this sample */
    } finally {
      this.busy = false;
    }
  }
}
