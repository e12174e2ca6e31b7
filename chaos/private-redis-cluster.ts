import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePortsWithPairs, RedisProcess } from './redis-process.js';
import { run, until } from './util.js';

export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  readonly masterId: string | null;
  readonly failed: boolean;
}

/**
 * A Redis Cluster of the suite's own: 3 masters and 3 replicas on one machine, no persistence. The replica validity
 * factor is 0 because a freshly created cluster's replicas would otherwise refuse to take over (their data is "too old").
 */
export class PrivateRedisCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: readonly RedisProcess[],
  ) {}

  /**
   * `pinned` gives each node's port and cluster bus port (a caller with a port range of its own); by default free
   * ports whose bus port is the port + 10000, Redis's own default.
   */
  static async start(
    dir: string,
    nodeTimeoutMs = 2000,
    pinned?: readonly { readonly port: number; readonly busPort: number }[],
  ): Promise<PrivateRedisCluster> {
    const layout = pinned ?? (await freePortsWithPairs(6)).map((port) => ({ port, busPort: port + 10_000 }));
    const ports = layout.map((p) => p.port);
    const nodes = layout.map(
      ({ port, busPort }) =>
        new RedisProcess(join(dir, `node-${port}`), port, [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-replica-validity-factor',
          '0',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--dir',
          join(dir, `node-${port}`),
        ]),
    );
    const cluster = new PrivateRedisCluster(dir, nodes);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await run(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
        60_000,
      );
      await until(
        'cluster state ok on every node, each replica attached',
        async () => {
          for (const n of nodes)
            if (!/cluster_state:ok/.test(await cluster.command(n.port, 'CLUSTER', 'INFO'))) return false;
          const infos = await cluster.nodeInfos();
          return (
            infos.filter((i) => i.role === 'master').length === 3 &&
            infos.filter((i) => i.role === 'replica').length === 3
          );
        },
        30_000,
        200,
      );
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get url(): string {
    return `redis+cluster://${this.nodes
      .slice(0, 3)
      .map((n) => `127.0.0.1:${n.port}`)
      .join(',')}`;
  }

  /** One command on one node, by port, on a short-lived connection. */
  async command(port: number, ...args: string[]): Promise<string> {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return String(await r.call(args[0]!, ...args.slice(1)));
    } finally {
      r.disconnect();
    }
  }

  /** CLUSTER NODES as seen by a running node. */
  async nodeInfos(): Promise<ClusterNodeInfo[]> {
    const alive = this.nodes.find((n) => n.running);
    if (!alive) throw new Error('no cluster node running');
    return (await this.command(alive.port, 'CLUSTER', 'NODES'))
      .trim()
      .split('\n')
      .map((line) => {
        const [id, addr, flags, master] = line.split(' ');
        return {
          id: id!,
          port: Number(/:(\d+)@/.exec(addr!)?.[1]),
          role: flags!.includes('master') ? 'master' : 'replica',
          masterId: master === '-' ? null : master!,
          failed: /fail/.test(flags!),
        };
      });
  }

  node(port: number): RedisProcess {
    const n = this.nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no node on port ${port}`);
    return n;
  }

  /** The master owning a key's slot, by asking a running node. */
  async masterOfSlot(slot: number): Promise<number> {
    const alive = this.nodes.find((n) => n.running)!;
    const r = new Redis({ host: '127.0.0.1', port: alive.port, lazyConnect: true });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} has no master`);
      return range[2][1];
    } finally {
      r.disconnect();
    }
  }

  /** Resolves once the replica of a killed master is master and every running node reports cluster_state:ok. */
  async waitForFailover(killedPort: number, timeoutMs = 30_000): Promise<void> {
    await until(
      `a replica takes over from ${killedPort}`,
      async () => {
        for (const n of this.nodes)
          if (n.running && !/cluster_state:ok/.test(await this.command(n.port, 'CLUSTER', 'INFO'))) return false;
        const infos = await this.nodeInfos();
        const masters = infos.filter((i) => i.role === 'master' && !i.failed && this.node(i.port).running);
        return masters.length === 3 && !masters.some((m) => m.port === killedPort);
      },
      timeoutMs,
      100,
    );
  }

  /** Resolves once a restarted node has rejoined as a replica and its master's link is up. */
  async waitForReplica(port: number, timeoutMs = 30_000): Promise<void> {
    await until(
      `node ${port} rejoins as a replica`,
      async () => {
        const info = await this.command(port, 'INFO', 'replication');
        return /role:slave/.test(info) && /master_link_status:up/.test(info);
      },
      timeoutMs,
      200,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
