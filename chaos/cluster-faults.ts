import { hashSlot } from '../dedup-worker/hash-slot.js';
import { topologyNames } from '../shared/amqp/topology.js';
import { need, outcome, type Fault } from './faults.js';
import type { Fleet } from './fleet.js';
import type { PrivateRabbitMQ } from './private-rabbitmq.js';
import type { PrivateRabbitCluster } from './rabbitmq-cluster.js';
import { sleep, until } from './util.js';

/*
 * Faults of the clustered engines. A SIGKILLed node is one the cluster must carry on without: the fault counts as
 * healed once the cluster has failed over (a new leader, a promoted replica), so "recovery" is how long the clients
 * took to follow. The killed node is brought back within the fault, before the next one.
 */

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function leaderOfNew(cluster: PrivateRabbitCluster, namespace: string): Promise<PrivateRabbitMQ> {
  const queue = topologyNames(namespace).newQueue;
  const leader = await cluster.leaderOf(queue);
  if (!leader) throw new Error(`no node reports a leader for ${queue}`);
  return leader;
}

/** Until a running node other than `old` names a leader of `queue` other than `old` (the cut node cannot answer). */
async function newLeaderAfter(
  cluster: PrivateRabbitCluster,
  queue: string,
  old: PrivateRabbitMQ,
  since: number,
  timeoutMs: number,
): Promise<string> {
  let name = '';
  await until(
    `a new leader of ${queue}`,
    async () => {
      const leader = await cluster.leaderOf(queue, old);
      if (!leader || leader === old) return false;
      name = leader.nodeName;
      return true;
    },
    timeoutMs,
    250,
  );
  return `${name.split('@')[0]} leads after ${seconds(Date.now() - since)}`;
}

/** Until a node of the majority knows a leader of `queue` other than the cut node; a sentence for the report. */
async function electedWhileCut(
  cluster: PrivateRabbitCluster,
  queue: string,
  cut: PrivateRabbitMQ,
  since: number,
  ms: number,
): Promise<string> {
  const witness = cluster.nodes.find((n) => n !== cut && n.running)!;
  let leader: string | null = null;
  try {
    await until(
      `a leader of ${queue} other than the cut node`,
      async () => {
        leader = await cluster.leaderSeenBy(witness, queue);
        return leader !== null && leader !== cut.nodeName;
      },
      ms,
      250,
    );
  } catch {
    return `no new leader within the cut (${witness.nodeName.split('@')[0]} still names ${leader ?? 'none'})`;
  }
  return `${(leader as string | null)?.split('@')[0]} leads after ${seconds(Date.now() - since)} (as the majority sees it)`;
}

/**
 * The workers' worker.redisWaitReplicas, checked against the value the fault is named after. Without WAIT a failover
 * may forget the last writes the workers acted on, as a Redis restarted empty forgets all: the fault then reports a
 * Redis wipe, which explains a repeat counted again as a first occurrence (collapsed); with WAIT it may not.
 */
function waitReplicasOf(fleet: Fleet, named: number): number {
  const values = new Set(
    fleet.names('worker').map((w) => Number(fleet.spec(w).env.FANIN_WORKER_REDIS_WAIT_REPLICAS ?? '0')),
  );
  if (values.size !== 1 || !values.has(named))
    throw new Error(`the fault is named WAIT ${named} but the workers run with ${[...values].join(', ')}`);
  return named;
}

/** SIGKILL the RabbitMQ node that leads `<ns>.new`; started again after `downMs` on its data, and rejoins. */
export function killNewQueueLeader(downMs: number): Fault {
  return {
    name: 'SIGKILL RabbitMQ leader of <ns>.new',
    kind: 'rabbitmq-kill-leader',
    target: 'rabbitmq',
    run: async (ctx) => {
      const cluster = need(ctx.rabbitCluster, 'a RabbitMQ cluster');
      const node = await leaderOfNew(cluster, ctx.namespace);
      const injectAt = Date.now();
      await node.kill();
      const elected = await newLeaderAfter(cluster, topologyNames(ctx.namespace).newQueue, node, injectAt, 60_000);
      const healAt = Date.now();
      await sleep(Math.max(0, injectAt + downMs - Date.now()));
      await node.start(120_000);
      await cluster.waitRunning(cluster.nodes.length, 120_000);
      return outcome(injectAt, healAt, {
        detail: `killed ${node.nodeName.split('@')[0]}; ${elected}; back in the cluster after ${seconds(Date.now() - injectAt)}`,
      });
    },
  };
}

/**
 * The node that leads `<ns>.new` cut off for `ms` from its peers and from every client (iptables DROP on its AMQP and
 * distribution ports, and on everything its processes send): the majority elects a new leader; clients on that
 * node hear nothing until their heartbeat or the heal. The rules go whatever happens.
 */
export function partitionRabbitNode(ms: number): Fault {
  return {
    name: `RabbitMQ leader of <ns>.new cut off ${ms / 1000}s`,
    kind: 'rabbitmq-partition',
    target: 'rabbitmq',
    run: async (ctx) => {
      const cluster = need(ctx.rabbitCluster, 'a RabbitMQ cluster');
      const node = await leaderOfNew(cluster, ctx.namespace);
      const cut = cluster.partition(node);
      const injectAt = Date.now();
      let elected = 'no new leader seen during the cut';
      try {
        await cut.cut();
        elected = await Promise.race([
          electedWhileCut(cluster, topologyNames(ctx.namespace).newQueue, node, injectAt, ms),
          sleep(ms).then(() => elected),
        ]);
        await sleep(Math.max(0, injectAt + ms - Date.now()));
      } finally {
        await cut.heal();
      }
      const healAt = Date.now();
      await cluster.waitRunning(cluster.nodes.length, 120_000);
      return outcome(injectAt, healAt, {
        detail: `cut ${node.nodeName.split('@')[0]} (ports ${node.port}, ${node.distPort}); ${elected}`,
      });
    },
  };
}

/**
 * A rolling restart of every node, one at a time as an operator does it: wait until the node is not quorum critical,
 * `rabbitmqctl stop`, start it on its data, wait until it is a running member again.
 */
export function rollingRestart(): Fault {
  return {
    name: 'RabbitMQ rolling restart',
    kind: 'rabbitmq-rolling-restart',
    target: 'rabbitmq',
    run: async (ctx) => {
      const cluster = need(ctx.rabbitCluster, 'a RabbitMQ cluster');
      const injectAt = Date.now();
      const took: string[] = [];
      for (const node of cluster.nodes) {
        await cluster.waitNotQuorumCritical(node, 120_000);
        const from = Date.now();
        await node.stop();
        await node.start(120_000);
        await cluster.waitRunning(cluster.nodes.length, 120_000);
        took.push(seconds(Date.now() - from));
      }
      return outcome(injectAt, Date.now(), { detail: `each node down and back: ${took.join(', ')}` });
    },
  };
}

/**
 * SIGKILL the Redis Cluster master that holds partition 0: its replica takes over (cluster-replica-validity-factor 0);
 * the killed node is started again `holdMs` after the failover and rejoins as a replica. `waitReplicas` only names the
 * fault: the workers' WAIT is set by the step before (`setWaitReplicas`).
 */
export function killRedisClusterMaster(holdMs: number, waitReplicas: number): Fault {
  return {
    name: `SIGKILL Redis Cluster master (WAIT ${waitReplicas})`,
    kind: 'redis-cluster-kill-master',
    target: 'redis',
    run: async (ctx) => {
      const cluster = need(ctx.redisCluster, 'a Redis Cluster');
      const wait = waitReplicasOf(ctx.fleet, waitReplicas);
      const port = await cluster.masterOfSlot(hashSlot('{p0}'));
      const injectAt = Date.now();
      await cluster.node(port).kill();
      await cluster.waitForFailover(port, 60_000);
      const healAt = Date.now();
      const failoverMs = healAt - injectAt;
      await sleep(holdMs);
      await cluster.node(port).start();
      await cluster.waitForReplica(port, 60_000);
      return outcome(injectAt, healAt, {
        redisWipes: wait === 0 ? [injectAt] : [],
        detail: `master ${port} killed; replica promoted after ${seconds(failoverMs)}; old master back as replica after ${seconds(Date.now() - injectAt)}`,
      });
    },
  };
}

/** Replicas of the suite's Sentinel group (chaos/private-redis-sentinel.ts). */
const SENTINEL_REPLICAS = 2;

/**
 * SIGKILL the Sentinel group's master: the sentinels promote a replica; the old master is started again and demoted.
 * WAIT n guarantees the last decisions only if the promoted replica is one of the n that acknowledged them, which is
 * certain only when n counts every replica: below that, the failover is reported as a Redis wipe (seen: 5 repeats
 * counted again as first occurrences under WAIT 1 of 2 replicas).
 */
export function killSentinelMaster(holdMs: number, waitReplicas: number): Fault {
  return {
    name: `SIGKILL Sentinel master (WAIT ${waitReplicas})`,
    kind: 'redis-sentinel-kill-master',
    target: 'redis',
    run: async (ctx) => {
      const group = need(ctx.sentinel, 'a Redis Sentinel group');
      const wait = waitReplicasOf(ctx.fleet, waitReplicas);
      const port = await group.masterPort();
      const injectAt = Date.now();
      await group.dataNode(port).kill();
      const promoted = await group.waitForFailover(port, 60_000);
      const healAt = Date.now();
      const failoverMs = healAt - injectAt;
      await sleep(holdMs);
      await group.dataNode(port).start();
      await group.waitForReplica(port, 60_000);
      return outcome(injectAt, healAt, {
        redisWipes: wait < SENTINEL_REPLICAS ? [injectAt] : [],
        detail: `master ${port} killed; ${promoted} named master after ${seconds(failoverMs)}; old master back as replica after ${seconds(Date.now() - injectAt)}`,
      });
    },
  };
}

/** Every worker drained and started again with worker.redisWaitReplicas = n (the next Redis faults run under it). */
export function setWaitReplicas(n: number): Fault {
  return {
    name: `workers restarted with WAIT ${n}`,
    kind: 'worker-wait-replicas',
    target: 'workers',
    run: async ({ fleet }) => {
      const injectAt = Date.now();
      fleet.setEnv('worker', { FANIN_WORKER_REDIS_WAIT_REPLICAS: String(n) });
      for (const name of fleet.names('worker')) await fleet.restartGracefully(name);
      return outcome(injectAt, Date.now());
    },
  };
}
