import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';

/** Tests run against the real RabbitMQ and Redis on localhost, each in a namespace of its own. */
export const AMQP_URL = process.env.FANIN_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.FANIN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueNamespace(prefix: string): string {
  return `t-${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Deletes the namespace's queues, exchanges and Redis keys. */
export async function cleanupNamespace(namespace: string, sinks: readonly string[] = ['file']): Promise<void> {
  const conn = await connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    for (const q of [`${namespace}.new`, `${namespace}.dead`, ...sinks.map((s) => `${namespace}.sink.${s}`)])
      await ch.deleteQueue(q).catch(() => undefined);
    for (const e of ['new', 'processed', 'dead']) await ch.deleteExchange(`${namespace}.${e}`).catch(() => undefined);
    await ch.close().catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
