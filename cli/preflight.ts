import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { redactUrl } from '../shared/amqp/broker-session.js';

/** One line that says what is unreachable, the URL tried and how to start it. */
export async function checkDependencies(amqpUrl: string, redisUrl: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    const conn = await withTimeout(connect(amqpUrl), 3000);
    await conn.close();
  } catch (err) {
    problems.push(`cannot reach RabbitMQ at ${redactUrl(amqpUrl)} (${describe(err)}); start it with: rabbitmq-server -detached`);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await withTimeout(redis.connect(), 3000);
    await redis.ping();
  } catch (err) {
    problems.push(`cannot reach Redis at ${redactUrl(redisUrl)} (${describe(err)}); start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379`);
  } finally {
    redis.disconnect();
  }
  return problems;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  return e.code ?? e.errors?.[0]?.code ?? e.message;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
