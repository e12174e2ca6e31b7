import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NodePartition } from './node-partition.js';
import { PrivateRabbitMQ } from './private-rabbitmq.js';
import { ProcessCgroup } from './process-cgroup.js';
import { run, until } from './util.js';

export interface RabbitClusterOptions {
  /** Pinned ports, one per node (by default free ports). */
  readonly ports?: readonly { readonly amqp: number; readonly dist: number }[];
  /** Each node in a cgroup of its own, so it can be cut off with `partition` (needs cgroup v2 and root). */
  readonly cgroups?: boolean;
}

/**
 * A RabbitMQ cluster of private nodes on this machine (own node names, AMQP and distribution ports, data and log
 * directories; the Erlang cookie is the rabbitmq user's, shared by every node it runs). Each node keeps its data
 * across a stop or a SIGKILL, so a restarted node rejoins the cluster by itself, as in production.
 */
export class PrivateRabbitCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: readonly PrivateRabbitMQ[],
  ) {}

  static async create(
    dir: string,
    size = 3,
    namePrefix = 'fanin-cluster',
    options: RabbitClusterOptions = {},
  ): Promise<PrivateRabbitCluster> {
    const nodes: PrivateRabbitMQ[] = [];
    if (options.cgroups) {
      // The shared epmd must not start inside a node's cgroup (a cut would silence it for every node on the machine).
      await run('epmd', ['-daemon'], 15_000);
    }
    for (let i = 1; i <= size; i++) {
      const nodeDir = join(dir, `node${i}`);
      mkdirSync(nodeDir, { recursive: true });
      const ports = options.ports?.[i - 1];
      const cgroup = options.cgroups ? ProcessCgroup.create(`${namePrefix}${i}-${ports?.amqp ?? i}`) : null;
      if (options.cgroups && !cgroup) throw new Error('cgroup v2 is not mounted: a RabbitMQ node cannot be cut off');
      nodes.push(await PrivateRabbitMQ.create(nodeDir, `${namePrefix}${i}`, ports, cgroup));
    }
    return new PrivateRabbitCluster(dir, nodes);
  }

  /** A cut of `node` from its peers and from every client: its AMQP and distribution ports, and all it sends. */
  partition(node: PrivateRabbitMQ): NodePartition {
    return new NodePartition({
      ports: [node.port, node.distPort],
      cgroupPath: node.cgroup?.path ?? null,
      tag: String(node.port),
    });
  }

  /** Removes cut rules an earlier run of these ports left installed (it was killed before it could heal). */
  async removeLeftoverCuts(): Promise<number> {
    let removed = 0;
    for (const n of this.nodes) removed += await NodePartition.removeLeftovers(String(n.port));
    return removed;
  }

  /** Messages in a queue, asking the running nodes in turn; null when none answers. */
  async queueDepth(queue: string): Promise<number | null> {
    for (const n of this.nodes.filter((x) => x.running)) {
      const depth = await n.queueDepth(queue);
      if (depth !== null) return depth;
    }
    return null;
  }

  /**
   * Waits until stopping `node` would leave every quorum queue with a majority online (what a rolling restart must
   * check before each node: `rabbitmq-queues check_if_node_is_quorum_critical`).
   */
  async waitNotQuorumCritical(node: PrivateRabbitMQ, timeoutMs: number): Promise<void> {
    await until(
      `${node.nodeName} not quorum critical`,
      async () => {
        await run('rabbitmq-queues', ['-n', node.nodeName, 'check_if_node_is_quorum_critical'], 30_000);
        return true;
      },
      timeoutMs,
      1000,
    );
  }

  /** Every node's URL, comma-separated: the `amqpUrl` of a fleet on this cluster. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

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
    await until(
      `${count} running RabbitMQ cluster nodes`,
      async () => (await this.runningNodes()).length >= count,
      timeoutMs,
      500,
    );
  }

  async runningNodes(): Promise<string[]> {
    for (const n of this.nodes.filter((x) => x.running)) {
      try {
        const out = await n.ctl(['eval', 'rabbit_nodes:all_running().'], 15_000);
        return [...out.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
      } catch {
        /* ask the next node */
      }
    }
    return [];
  }

  /** The node that leads a quorum queue, as a running member (but `notAsking`) reports it; null when none answers. */
  async leaderOf(queue: string, notAsking?: PrivateRabbitMQ): Promise<PrivateRabbitMQ | null> {
    for (const n of this.nodes.filter((x) => x.running && x !== notAsking)) {
      try {
        const out = await n.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'leader'], 15_000);
        for (const line of out.split('\n')) {
          const [name, leader] = line.trim().split(/\s+/);
          if (name === queue) return this.nodes.find((x) => x.nodeName === leader) ?? null;
        }
        return null;
      } catch {
        /* ask the next node */
      }
    }
    return null;
  }

  /**
   * The leader of a quorum queue as `node` itself knows it (its Ra leaderboard: no other node is asked, so a node on
   * the majority side of a cut answers at once); null when it knows none.
   */
  async leaderSeenBy(node: PrivateRabbitMQ, queue: string): Promise<string | null> {
    // A quorum queue's Ra cluster is named after its vhost (URL-encoded) and name: the default vhost's '%2F_<queue>'.
    const out = await node.ctl(['eval', `ra_leaderboard:lookup_leader('%2F_${queue}').`], 15_000);
    return /,\s*'?([\w.-]+@[\w.-]+)'?\s*\}/.exec(out)?.[1] ?? null;
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
      } catch {
        /* ask the next node */
      }
    }
    return [];
  }

  /** SIGKILLs every node's processes (found by their unique node names) and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    // Files are the rabbitmq user's; a node's last writes may land just after the kill.
    await run('rm', ['-rf', this.dir], 30_000).catch(() => rmSync(this.dir, { recursive: true, force: true }));
    // A cgroup can be removed only once its last process has exited: the killed nodes' are gone by now.
    for (const n of this.nodes) n.cgroup?.remove();
  }
}
