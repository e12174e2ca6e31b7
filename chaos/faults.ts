import { open, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { TcpProxy } from '../testkit/tcp-proxy.js';
import type { Fleet } from './fleet.js';
import type { PrivateRabbitMQ } from './private-rabbitmq.js';
import type { PrivateRedisCluster } from './private-redis-cluster.js';
import type { PrivateRedisSentinel } from './private-redis-sentinel.js';
import type { PrivateRedis } from './private-redis.js';
import type { PrivateRabbitCluster } from './rabbitmq-cluster.js';
import { note, run, sleep } from './util.js';

/** What a fault acts on: a single RabbitMQ node and Redis (`rabbit`, `redis`), or the clustered engines. */
export interface ChaosContext {
  readonly fleet: Fleet;
  /** The fleet's namespace (queue names). */
  readonly namespace: string;
  readonly rabbit?: PrivateRabbitMQ;
  readonly redis?: PrivateRedis;
  readonly rabbitCluster?: PrivateRabbitCluster;
  readonly redisCluster?: PrivateRedisCluster;
  readonly sentinel?: PrivateRedisSentinel;
  /** Each receiver's connection to the broker goes through one of these (a per-receiver network partition). */
  readonly proxies: ReadonlyMap<string, TcpProxy>;
  readonly sinkDir: string;
  /** The file system (a tmpfs of the suite's own) that holds sinkDir. */
  readonly sinkFs: string;
}

export interface FaultOutcome {
  readonly injectAt: number;
  /** When the cause was removed (process back up, broker back, directory restored…). */
  readonly healAt: number;
  readonly receiverKills: { receiver: string; at: number }[];
  readonly redisWipes: number[];
  /** What the fault measured on the way (a failover's duration, the node it hit), for the log and the results. */
  readonly detail?: string;
}

/** The part of the context a fault needs; throws (a suite error) when this setup does not have it. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`this fault needs ${what}, which this profile's setup does not run`);
  return value;
}

export interface Fault {
  readonly name: string;
  readonly kind: string;
  readonly target: string | null;
  /** Injects, holds, heals; resolves when healed. */
  run(ctx: ChaosContext): Promise<FaultOutcome>;
}

export const outcome = (injectAt: number, healAt: number, extra: Partial<FaultOutcome> = {}): FaultOutcome => ({
  injectAt,
  healAt,
  receiverKills: [],
  redisWipes: [],
  ...extra,
});

/** SIGKILL a receiver; the supervisor restarts it (its spool survives on disk). */
export function killReceiver(id: string): Fault {
  return {
    name: `SIGKILL receiver ${id}`,
    kind: 'kill-receiver',
    target: `receiver-${id}`,
    run: async ({ fleet }) => {
      const { killedAt, upAt } = await fleet.killAndAwaitRestart(`receiver-${id}`, true);
      return outcome(killedAt, upAt, { receiverKills: [{ receiver: id, at: killedAt }] });
    },
  };
}

/** SIGKILL a dedup worker: its unacked batches are redelivered and their stored decisions reused. */
export function killWorker(n: number): Fault {
  return {
    name: `SIGKILL worker ${n}`,
    kind: 'kill-worker',
    target: `worker-${n}`,
    run: async ({ fleet }) => {
      const { killedAt, upAt } = await fleet.killAndAwaitRestart(`worker-${n}`, true);
      return outcome(killedAt, upAt);
    },
  };
}

/** SIGKILL the uploader: what it wrote but had not acked is delivered again (duplicate lines, same ids). */
export function killUploader(): Fault {
  return {
    name: 'SIGKILL uploader',
    kind: 'kill-uploader',
    target: 'uploader',
    run: async ({ fleet }) => {
      const { killedAt, upAt } = await fleet.killAndAwaitRestart('uploader', true);
      return outcome(killedAt, upAt);
    },
  };
}

/** `rabbitmqctl stop`, down for `downMs`, start again on the same data: receivers spool, the others reconnect. */
export function restartRabbitMQ(downMs: number): Fault {
  return {
    name: `RabbitMQ stopped ${downMs / 1000}s`,
    kind: 'rabbitmq-restart',
    target: 'rabbitmq',
    run: async (ctx) => {
      const rabbit = need(ctx.rabbit, 'a single RabbitMQ node');
      const injectAt = Date.now();
      await rabbit.stop();
      await sleep(downMs);
      await rabbit.start();
      return outcome(injectAt, Date.now());
    },
  };
}

/** Redis killed and started again empty: workers hold meanwhile; copies straddling the wipe are published twice. */
export function wipeRedis(downMs: number): Fault {
  return {
    name: `Redis restarted empty (${downMs / 1000}s down)`,
    kind: 'redis-wipe',
    target: 'redis',
    run: async (ctx) => {
      const redis = need(ctx.redis, 'a single Redis');
      const injectAt = Date.now();
      await redis.kill();
      await sleep(downMs);
      await redis.start();
      return outcome(injectAt, Date.now(), { redisWipes: [injectAt] });
    },
  };
}

/** SIGSTOP a worker (a hung process holding its prefetched batches), SIGCONT after `ms`. */
export function freezeWorker(n: number, ms: number): Fault {
  return {
    name: `SIGSTOP worker ${n} ${ms / 1000}s`,
    kind: 'freeze-worker',
    target: `worker-${n}`,
    run: async ({ fleet }) => {
      const injectAt = Date.now();
      fleet.signal(`worker-${n}`, 'SIGSTOP');
      try {
        await sleep(ms);
      } finally {
        fleet.signal(`worker-${n}`, 'SIGCONT');
      }
      return outcome(injectAt, Date.now());
    },
  };
}

/**
 * The sink directory replaced by a file for `ms` (chmod does nothing to root): SIGUSR1 makes the uploader close its
 * open files, so every write must open one and fails with ENOTDIR; after sinkMaxAttempts failures batches go to the
 * secondary. Healing renames the real directory back, with everything written before.
 */
export function sinkUnwritable(ms: number): Fault {
  return {
    name: `sink unwritable ${ms / 1000}s`,
    kind: 'sink-unwritable',
    target: 'file sink',
    run: async ({ fleet, sinkDir }) => {
      const away = `${sinkDir}.away`;
      const injectAt = Date.now();
      await rename(sinkDir, away);
      await writeFile(sinkDir, 'the sink directory is away (chaos fault)\n');
      fleet.signal('uploader', 'SIGUSR1');
      try {
        await sleep(ms);
      } finally {
        await rm(sinkDir, { force: true });
        await rename(away, sinkDir);
      }
      return outcome(injectAt, Date.now());
    },
  };
}

/** The broker's memory alarm: every publishing connection is blocked (receivers spool, workers wait on confirms). */
export function memoryAlarm(ms: number): Fault {
  return {
    name: `broker memory alarm ${ms / 1000}s`,
    kind: 'memory-alarm',
    target: 'rabbitmq',
    run: async (ctx) => {
      const rabbit = need(ctx.rabbit, 'a single RabbitMQ node');
      const injectAt = Date.now();
      await rabbit.setMemoryWatermark(0.00001);
      try {
        await sleep(ms);
      } finally {
        await rabbit.setMemoryWatermark(0.4);
      }
      return outcome(injectAt, Date.now());
    },
  };
}

/**
 * One receiver cut off from the broker (its proxy drops every connection and stops listening) for `ms`: it spools;
 * a receiver whose spool is a tiny tmpfs fills it and must pause TCP and count UDP drops.
 */
export function partitionReceiver(id: string, ms: number): Fault {
  return {
    name: `receiver ${id} cut from broker ${ms / 1000}s`,
    kind: 'partition',
    target: `receiver-${id}`,
    run: async ({ proxies }) => {
      const proxy = proxies.get(id)!;
      const injectAt = Date.now();
      await proxy.cut();
      try {
        await sleep(ms);
      } finally {
        await proxy.start(proxy.port);
      }
      return outcome(injectAt, Date.now());
    },
  };
}

/**
 * A receiver cut from the broker, SIGKILLed while it spools, restarted still cut off, then reconnected: the new
 * process must replay the spool its predecessor wrote.
 */
export function killSpoolingReceiver(id: string, ms: number): Fault {
  return {
    name: `receiver ${id} killed while spooling`,
    kind: 'kill-spooling-receiver',
    target: `receiver-${id}`,
    run: async ({ fleet, proxies }) => {
      const proxy = proxies.get(id)!;
      const injectAt = Date.now();
      await proxy.cut();
      let killedAt: number;
      try {
        await sleep(ms / 2);
        killedAt = (await fleet.killAndAwaitRestart(`receiver-${id}`, false)).killedAt;
        await sleep(ms / 2);
      } finally {
        await proxy.start(proxy.port);
      }
      await fleet.waitReady(`receiver-${id}`).catch((err: Error) => note(err.message));
      return outcome(injectAt, Date.now(), { receiverKills: [{ receiver: id, at: killedAt }] });
    },
  };
}

/**
 * The sink's file system full for `ms` (a file takes every free block): writes fail with ENOSPC, possibly after a
 * partial write that filled the last page of the current file. After sinkMaxAttempts batches go to the secondary.
 */
export function sinkDiskFull(ms: number): Fault {
  return {
    name: `sink disk full ${ms / 1000}s`,
    kind: 'sink-disk-full',
    target: 'file sink',
    run: async ({ sinkFs }) => {
      const fillers = [join(sinkFs, 'chaos-filler'), join(sinkFs, 'chaos-filler-2')];
      const injectAt = Date.now();
      try {
        // Most of the space at once, then the rest a block at a time (the uploader keeps writing meanwhile).
        const fs = await statfs(sinkFs);
        const bulk = fs.bavail * fs.bsize - 8 * 1024 * 1024;
        if (bulk > 0) await run('fallocate', ['-l', String(bulk), fillers[0]!]);
        const fh = await open(fillers[1]!, 'w');
        const block = Buffer.alloc(64 * 1024);
        try {
          for (;;) await fh.write(block);
        } catch {
          /* ENOSPC: full */
        } finally {
          await fh.close();
        }
        await sleep(ms);
      } finally {
        for (const f of fillers) await rm(f, { force: true });
      }
      return outcome(injectAt, Date.now());
    },
  };
}

/**
 * Redis out of memory for `ms` (maxmemory 1 with noeviction, the recommended policy): it stays connected but refuses
 * every write, so the dedup script fails without a disconnect. Workers must hold and then resume by themselves.
 */
export function redisOutOfMemory(ms: number): Fault {
  return {
    name: `Redis out of memory ${ms / 1000}s`,
    kind: 'redis-oom',
    target: 'redis',
    run: async (ctx) => {
      const redis = need(ctx.redis, 'a single Redis');
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      try {
        const injectAt = Date.now();
        await client.config('SET', 'maxmemory-policy', 'noeviction');
        await client.config('SET', 'maxmemory', '1');
        try {
          await sleep(ms);
        } finally {
          await client.config('SET', 'maxmemory', '0');
        }
        return outcome(injectAt, Date.now());
      } finally {
        client.disconnect();
      }
    },
  };
}

/** Redis SIGSTOPped for `ms` (a stalled server: connections stay open, nothing answers), then SIGCONT. */
export function freezeRedis(ms: number): Fault {
  return {
    name: `Redis frozen ${ms / 1000}s`,
    kind: 'redis-freeze',
    target: 'redis',
    run: async (ctx) => {
      const redis = need(ctx.redis, 'a single Redis');
      const injectAt = Date.now();
      redis.signal('SIGSTOP');
      try {
        await sleep(ms);
      } finally {
        redis.signal('SIGCONT');
      }
      return outcome(injectAt, Date.now());
    },
  };
}
