import { connect } from 'amqplib';
import { Cluster } from 'ioredis';
import { parseAmqpUrls } from '../shared/amqp/broker-endpoints.js';
import { redactUrl } from '../shared/amqp/broker-endpoints.js';
import { createRedisClient } from '../shared/redis-client.js';
import { parseRedisUrl, redactRedisUrl } from '../shared/redis-endpoints.js';

const START_RABBITMQ = 'start it with: rabbitmq-server -detached';
const START_REDIS = 'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379';

/**
 * One line per dependency that `fanin up` cannot use, saying why: unreachable (with how to start it) is a
 * different fix from a refused login or a missing virtual host, so each names its own cause. URLs without password.
 */
export async function checkDependencies(amqpUrl: string, redisUrl: string): Promise<string[]> {
  const problems: string[] = [];
  problems.push(...(await checkBrokers(amqpUrl)));
  problems.push(...(await checkRedis(redisUrl)));
  return problems;
}

/**
 * Connects the way the worker will (one node, the master Sentinel names, or the cluster's slot map) and writes
 * nothing: a PING answered by the master, or by every cluster master, proves the dedup keys are reachable.
 */
async function checkRedis(redisUrl: string): Promise<string[]> {
  const redis = createRedisClient(parseRedisUrl(redisUrl), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // A refused AUTH arrives as an error event; the connect promise then only says "Connection is closed".
  let lastError: Error | null = null;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await withTimeout(redis.connect(), 3000);
    if (redis instanceof Cluster) {
      await withTimeout(Promise.all(redis.nodes('master').map((n) => n.ping())), 3000);
    } else {
      await redis.ping();
    }
    return [];
  } catch (err) {
    return [describeRedisFailure(redisUrl, lastError ?? err)];
  } finally {
    redis.disconnect();
  }
}

/**
 * The fleet can start when one broker of the list answers (it fails over among them): a node that is down is then
 * no problem, and when none answers each says why.
 */
async function checkBrokers(amqpUrls: string): Promise<string[]> {
  const failures: string[] = [];
  for (const url of parseAmqpUrls(amqpUrls)) {
    try {
      const conn = await withTimeout(connect(url), 3000);
      await conn.close();
      return [];
    } catch (err) {
      failures.push(describeAmqpFailure(url, err));
    }
  }
  return failures;
}

/** amqplib reports a refused login and a refused vhost as handshake text, and socket failures as errno codes. */
export function describeAmqpFailure(amqpUrl: string, err: unknown): string {
  const url = redactUrl(amqpUrl);
  const message = err instanceof Error ? err.message : String(err);
  if (/ACCESS[-_]REFUSED|\b403\b/.test(message)) {
    return `RabbitMQ at ${url} refused the login (ACCESS_REFUSED): wrong user or password in amqpUrl (FANIN_AMQP_URL)`;
  }
  if (/NOT[-_]ALLOWED|\b530\b|Expected ConnectionOpenOk/.test(message)) {
    return `RabbitMQ at ${url} refused the virtual host "${vhostOf(amqpUrl)}": it does not exist or the user may not use it (rabbitmqctl list_permissions -p <vhost>)`;
  }
  const code = errorCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the RabbitMQ host of ${url} (${code})`;
  if (code === 'ECONNREFUSED')
    return `cannot reach RabbitMQ at ${url}: nothing listens there (ECONNREFUSED); ${START_RABBITMQ}`;
  return `cannot reach RabbitMQ at ${url} (${code ?? message}); ${START_RABBITMQ}`;
}

export function describeRedisFailure(redisUrl: string, err: unknown): string {
  const url = redactRedisUrl(redisUrl);
  const message = err instanceof Error ? err.message : String(err);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) {
    return `Redis at ${url} refused the login (${message.split(' ')[0]}): wrong user or password in redisUrl (FANIN_REDIS_URL)`;
  }
  const code = errorCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the Redis host of ${url} (${code})`;
  if (code === 'ECONNREFUSED')
    return `cannot reach Redis at ${url}: nothing listens there (ECONNREFUSED); ${START_REDIS}`;
  return `cannot reach Redis at ${url} (${code ?? message}); ${START_REDIS}`;
}

function errorCode(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  return e.code ?? e.errors?.[0]?.code;
}

function vhostOf(amqpUrl: string): string {
  try {
    const path = new URL(amqpUrl).pathname;
    return path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
  } catch {
    return '?';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
