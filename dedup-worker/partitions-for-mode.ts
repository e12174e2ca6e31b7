import { ConfigError } from '../shared/config/config-error.js';
import type { RedisMode } from '../shared/redis-endpoints.js';

/** A Redis Cluster has at least three masters; fewer partitions than that leaves masters without dedup keys. */
const CLUSTER_MIN_PARTITIONS = 3;

/**
 * Refuses a partition count the Redis mode cannot use well. Every key of one partition lives in one hash slot, so on a
 * Redis Cluster a single partition puts the whole dedup load on one shard (the others idle, and it alone fails).
 */
export function checkPartitionsFitMode(mode: RedisMode, partitions: number): void {
  if (mode === 'cluster' && partitions < CLUSTER_MIN_PARTITIONS) {
    throw new ConfigError([
      `worker.dedupPartitions (FANIN_WORKER_DEDUP_PARTITIONS) is ${partitions} with a Redis Cluster (redis+cluster://): every dedup key of a `
      + `partition lives in one hash slot, so ${partitions} partition(s) load at most ${partitions} shard(s); set it to 16 or more (a few per master)`,
    ]);
  }
}
