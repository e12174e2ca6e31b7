import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts } from '../testkit/free-ports.js';
import { RedisProcess } from './redis-process.js';
import { until } from './util.js';

export const SENTINEL_MASTER_NAME = 'fanin';

/**
 * A Sentinel group of the suite's own: 1 master, 2 replicas, 3 sentinels (quorum 2), no persistence, a master
 * declared down after one second so a failover fits in a test.
 */
export class PrivateRedisSentinel {
  private constructor(
    readonly dir: string,
    readonly dataNodes: readonly RedisProcess[],
    readonly sentinels: readonly RedisProcess[],
  ) {}

  /** `pinned`: six ports (master, 2 replicas, 3 sentinels) for a caller with a port range of its own; by default free ones. */
  static async start(dir: string, pinned?: readonly number[]): Promise<PrivateRedisSentinel> {
    const [masterPort, ...ports] = pinned ?? (await freePorts(6));
    const dataArgs = (port: number) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      join(dir, `redis-${port}`),
    ];
    const dataNodes = [masterPort!, ports[0]!, ports[1]!].map(
      (port, i) =>
        new RedisProcess(
          join(dir, `redis-${port}`),
          port,
          i === 0 ? dataArgs(port) : [...dataArgs(port), '--replicaof', '127.0.0.1', String(masterPort)],
        ),
    );
    const sentinels = ports.slice(2).map((port) => {
      const sdir = join(dir, `sentinel-${port}`);
      const node = new RedisProcess(sdir, port, [join(sdir, 'sentinel.conf'), '--sentinel']);
      writeFileSync(
        join(sdir, 'sentinel.conf'),
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${sdir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      return node;
    });
    const group = new PrivateRedisSentinel(dir, dataNodes, sentinels);
    try {
      await Promise.all(dataNodes.map((n) => n.start()));
      await Promise.all(sentinels.map((n) => n.start()));
      await until(
        'sentinels see the master, its 2 replicas and each other',
        async () => {
          for (const s of sentinels) {
            const info = await group.sentinelMaster(s.port);
            if (info['num-slaves'] !== '2' || info['num-other-sentinels'] !== '2' || info.flags !== 'master')
              return false;
          }
          return true;
        },
        30_000,
        200,
      );
    } catch (err) {
      await group.stop();
      throw err;
    }
    return group;
  }

  get url(): string {
    return `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER_NAME}`;
  }

  /** SENTINEL MASTER <name> as a field map, from one sentinel. */
  async sentinelMaster(port: number): Promise<Record<string, string>> {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const flat = (await r.call('SENTINEL', 'MASTER', SENTINEL_MASTER_NAME)) as string[];
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
      return out;
    } finally {
      r.disconnect();
    }
  }

  /** The port the sentinels name as master now. */
  async masterPort(): Promise<number> {
    const s = this.sentinels.find((x) => x.running)!;
    return Number((await this.sentinelMaster(s.port)).port);
  }

  dataNode(port: number): RedisProcess {
    const n = this.dataNodes.find((x) => x.port === port);
    if (!n) throw new Error(`no data node on port ${port}`);
    return n;
  }

  /** Resolves once the sentinels name a running master other than `oldPort`. */
  async waitForFailover(oldPort: number, timeoutMs = 30_000): Promise<number> {
    let port = oldPort;
    await until(
      `sentinels promote a replica of ${oldPort}`,
      async () => {
        port = await this.masterPort();
        return port !== oldPort && this.dataNode(port).running;
      },
      timeoutMs,
      100,
    );
    return port;
  }

  /** Resolves once a data node brought back after a failover serves as a replica with its master link up. */
  async waitForReplica(port: number, timeoutMs = 30_000): Promise<void> {
    await until(
      `node ${port} rejoins as a replica`,
      async () => {
        const r = new Redis({
          host: '127.0.0.1',
          port,
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        r.on('error', () => undefined);
        try {
          await r.connect();
          const info = await r.info('replication');
          return /role:slave/.test(info) && /master_link_status:up/.test(info);
        } finally {
          r.disconnect();
        }
      },
      timeoutMs,
      200,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.dataNodes].map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
