import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrivateRabbitMQ } from './private-rabbitmq.js';
import { run, until } from './util.js';

/**
 * A RabbitMQ cluster of private nodes on this machine (own node names, AMQP and distribution ports, data and log
 * directories; the Erlang cookie is the rabbitmq user's, shared by every node it runs). Each node keeps its data
 * across a stop or a SIGKILL, so a restarted node rejoins the cluster by itself, as in production.
 */
export class PrivateRabbitCluster {
  private constructor(readonly dir: string, readonly nodes: readonly PrivateRabbitMQ[]) {}

  static async create(dir: string, size = 3, namePrefix = 'fanin-cluster'): Promise<PrivateRabbitCluster> {
    const nodes: PrivateRabbitMQ[] = [];
    for (let i = 1; i <= size; i++) {
      const nodeDir = join(dir, `node${i}`);
      mkdirSync(nodeDir, { recursive: true });
      nodes.push(await PrivateRabbitMQ.create(nodeDir, `${namePrefix}${i}`));
    }
    return new PrivateRabbitCluster(dir, nodes);
  }

  /** Every node's URL, comma-separated: the `amqpUrl` of a fleet on this cluster. */
  get url(): string { return this.nodes.map((n) => n.url).join(','); }

  /** Starts every node (in parallel), then joins the others to the first and waits until all are running members. */
  async start(timeoutMs = 120_000): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start(timeoutMs)));
    const [seed, ...others] = this.nodes;
    for (const n of others) {
      await n.ctl(['stop_app'], 60_000);
      await n.ctl(['join_cluster', seed!.nodeName], 60_000);
      await n.ctl(['start_app'], 60_000);
    }
    await this.waitRunning(this.nodes.length, timeoutMs);
  }

  /** Waits until `count` nodes are running members, as the first running node sees it. */
  async waitRunning(count: number, timeoutMs: number): Promise<void> {
    await until(`${count} running RabbitMQ cluster nodes`, async () => (await this.runningNodes()).length >= count, timeoutMs, 500);
  }

  async runningNodes(): Promise<string[]> {
    for (const n of this.nodes.filter((x) => x.running)) {
      try {
        const out = await n.ctl(['eval', 'rabbit_nodes:all_running().'], 15_000);
        return [...out.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
      } catch { /* ask the next node */ }
    }
    return [];
  }

  /** The node that leads a quorum queue, as a running member reports it; null when none answers. */
  async leaderOf(queue: string): Promise<PrivateRabbitMQ | null> {
    for (const n of this.nodes.filter((x) => x.running)) {
      try {
        const out = await n.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'leader'], 15_000);
        for (const line of out.split('\n')) {
          const [name, leader] = line.trim().split(/\s+/);
          if (name === queue) return this.nodes.find((x) => x.nodeName === leader) ?? null;
        }
        return null;
      } catch { /* ask the next node */ }
    }
    return null;
  }

  /** The members of a quorum queue (node names), as a running member reports them. */
  async membersOf(queue: string): Promise<string[]> {
    for (const n of this.nodes.filter((x) => x.running)) {
      try {
        const out = await n.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'members'], 15_000);
        for (const line of out.split('\n')) {
          const match = /^(\S+)\s+\[(.*)\]\s*$/.exec(line.trim());
          if (match?.[1] === queue) return [...match[2]!.matchAll(/[\w.-]+@[\w.-]+/g)].map((m) => m[0]);
        }
        return [];
      } catch { /* ask the next node */ }
    }
    return [];
  }

  /** SIGKILLs every node's processes (found by their unique node names) and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    // Files are the rabbitmq user's; a node's last writes may land just after the kill.
    await run('rm', ['-rf', this.dir], 30_000).catch(() => rmSync(this.dir, { recursive: true, force: true }));
  }
}
