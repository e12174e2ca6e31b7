import { ConfigError } from '../shared/config/config-error.js';
import type { RedisMode } from '../shared/redis-endpoints.js';

/** A Redis Cluster has at least three masters; fewer partitions than that leaves masters without dedup keys. */
const CLUSTER_MIN_PARTITIONS = 3;
/** Several partitions per master of a 3-to-5-master cluster, so the load spreads evenly enough. */
const CLUSTER_AUTO_PARTITIONS = 16;

/**
 * The partition count a worker uses: `auto` follows the mode (one script call per batch where one node holds every
 * key; 16 on a cluster). The result depends on the URL only, so every worker of a fleet with one URL agrees.
 */
export function partitionsFor(mode: RedisMode, configured: number | 'auto'): number {
  const partitions = configured === 'auto' ? (mode === 'cluster' ? CLUSTER_AUTO_PARTITIONS : 1) : configured;
  checkPartitionsFitMode(mode, partitions);
  return partitions;
}

/**
 * Refuses a partition count the Redis mode cannot use well. Every key of one partition lives in one hash slot, so on a
 * Redis Cluster a single partition puts the whole dedup load on one shard (the others idle, and it alone fails).
 */
export function checkPartitionsFitMode(mode: RedisMode, partitions: number): void {
  if (mode === 'cluster' && partitions < CLUSTER_MIN_PARTITIONS) {
    throw new ConfigError([
      `worker.dedupPartitions (FANIN_WORKER_DEDUP_PARTITIONS) is ${partitions} with a Redis Cluster (redis+cluster://): every dedup key of a ` +
        `partition lives in one hash slot, so ${partitions} partition(s) load at most ${partitions} shard(s); set it to 16 or more (a few per master)`,
    ]);
  }
}
