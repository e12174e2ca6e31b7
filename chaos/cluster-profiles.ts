import {
  killNewQueueLeader,
  killRedisClusterMaster,
  killSentinelMaster,
  partitionRabbitNode,
  rollingRestart,
  setWaitReplicas,
} from './cluster-faults.js';
import type { Fault } from './faults.js';
import type { Step } from './profiles.js';

/** One fleet on the RabbitMQ cluster with one Redis deployment; the legs of a profile run one after the other. */
export interface ClusterLeg {
  readonly redis: 'cluster' | 'sentinel';
  /** worker.redisWaitReplicas the workers start with (a `setWaitReplicas` step changes it). */
  readonly waitReplicas: number;
  /**
   * AMQP heartbeat every process asks for (`?heartbeat=` on each URL of the list); unset: the broker's 60 s. A client
   * of a node that was cut off notices the silence only through it (or TCP's retransmission timeout).
   */
  readonly amqpHeartbeatSeconds?: number;
  readonly baselineMs: number;
  readonly steps: readonly Step[];
  readonly cooldownMs: number;
  readonly drainMs: number;
}

export interface ClusterProfile {
  readonly name: string;
  /** New events per second (plus ~10% repeats). */
  readonly rate: number;
  readonly legs: readonly ClusterLeg[];
}

const s = (fault: Fault, pauseS: number): Step => ({ fault, pauseMs: pauseS * 1000 });

export const REDIS_LABEL: Record<ClusterLeg['redis'], string> = {
  cluster: 'Redis Cluster (3 masters, 3 replicas)',
  sentinel: 'Redis Sentinel (1 master, 2 replicas, 3 sentinels)',
};

/**
 * CI: every fault kind once on the 3-node RabbitMQ cluster, the Redis Cluster master killed under WAIT 0, the
 * Sentinel master under WAIT 1 (about four minutes on a quiet 2-core machine, the clusters' start included).
 */
export const clusterShortProfile: ClusterProfile = {
  name: 'cluster-short',
  rate: 300,
  legs: [
    {
      redis: 'cluster',
      waitReplicas: 0,
      baselineMs: 4000,
      cooldownMs: 3000,
      drainMs: 90_000,
      steps: [
        s(killNewQueueLeader(3000), 3),
        s(partitionRabbitNode(15_000), 5),
        s(killRedisClusterMaster(2000, 0), 3),
        s(rollingRestart(), 3),
      ],
    },
    {
      redis: 'sentinel',
      waitReplicas: 1,
      amqpHeartbeatSeconds: 10,
      baselineMs: 4000,
      cooldownMs: 3000,
      drainMs: 60_000,
      steps: [s(killSentinelMaster(2000, 1), 3)],
    },
  ],
};

/**
 * `CHAOS_PROFILE=cluster`: on each Redis deployment, the leader of <ns>.new SIGKILLed and then cut off for 30 s
 * (with the broker's 60 s heartbeat, then with 10 s), the Redis master SIGKILLed twice under WAIT 0 and twice
 * under WAIT 1; one rolling restart of the three RabbitMQ nodes.
 */
export const clusterLongProfile: ClusterProfile = {
  name: 'cluster',
  rate: 400,
  legs: [
    {
      redis: 'cluster',
      waitReplicas: 0,
      baselineMs: 8000,
      cooldownMs: 6000,
      drainMs: 120_000,
      steps: [
        s(killNewQueueLeader(5000), 10),
        // Clients of the cut node hear of it through the 60 s heartbeat or TCP's backed-off retransmissions: let
        // them land before the next fault, whose recovery would count them.
        s(partitionRabbitNode(30_000), 45),
        s(killRedisClusterMaster(5000, 0), 10),
        s(killRedisClusterMaster(5000, 0), 10),
        s(setWaitReplicas(1), 6),
        s(killRedisClusterMaster(5000, 1), 10),
        s(killRedisClusterMaster(5000, 1), 10),
        s(rollingRestart(), 10),
      ],
    },
    {
      redis: 'sentinel',
      waitReplicas: 0,
      amqpHeartbeatSeconds: 10,
      baselineMs: 8000,
      cooldownMs: 6000,
      drainMs: 120_000,
      steps: [
        s(killNewQueueLeader(5000), 10),
        s(partitionRabbitNode(30_000), 30),
        s(killSentinelMaster(5000, 0), 10),
        s(killSentinelMaster(5000, 0), 10),
        s(setWaitReplicas(1), 6),
        s(killSentinelMaster(5000, 1), 10),
        s(killSentinelMaster(5000, 1), 10),
      ],
    },
  ],
};

export const clusterProfiles: Record<string, ClusterProfile> = {
  'cluster-short': clusterShortProfile,
  cluster: clusterLongProfile,
};
