import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisEndpoints } from './redis-endpoints.js';

/** One Redis, a Sentinel-followed master, or a Redis Cluster: the commands the worker uses are the same on each. */
export type RedisClient = Redis | Cluster;

export interface RedisClientTuning {
  /** Delay before reconnect attempt n, or null to give up (a preflight check connects once). */
  readonly retryStrategy: (attempt: number) => number | null;
  /** How often a command is resent after its connection dropped, per node; the worker answers failures itself. */
  readonly maxRetriesPerRequest: number;
  readonly lazyConnect?: boolean;
}

/**
 * Builds the ioredis client the endpoints call for. The offline queue is off in every mode: a command while Redis
 * (or the shard owning its slot) is away fails at once, so the caller holds instead of piling commands up.
 */
export function createRedisClient(endpoints: RedisEndpoints, tuning: RedisClientTuning): RedisClient {
  const auth: RedisOptions = {
    ...(endpoints.username ? { username: endpoints.username } : {}),
    ...(endpoints.password ? { password: endpoints.password } : {}),
    ...(endpoints.tls ? { tls: {} } : {}),
  };
  const base: RedisOptions = {
    ...auth,
    enableOfflineQueue: false,
    maxRetriesPerRequest: tuning.maxRetriesPerRequest,
    lazyConnect: tuning.lazyConnect ?? false,
    retryStrategy: tuning.retryStrategy,
  };
  if (endpoints.mode === 'single') {
    return new Redis({ ...base, host: endpoints.node.host, port: endpoints.node.port, db: endpoints.db });
  }
  if (endpoints.mode === 'sentinel') {
    return new Redis({
      ...base,
      sentinels: endpoints.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: endpoints.masterName,
      role: 'master',
      enableTLSForSentinelMode: endpoints.tls,
      sentinelRetryStrategy: tuning.retryStrategy,
      // Subscribes to +switch-master on the sentinels: reconnects to the promoted replica as soon as it is elected,
      // instead of waiting for the old master's socket to time out.
      failoverDetector: true,
    });
  }
  return new Cluster(
    endpoints.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: false,
      lazyConnect: tuning.lazyConnect ?? false,
      clusterRetryStrategy: (attempt) => tuning.retryStrategy(attempt),
      // While a replica takes over, its slots answer CLUSTERDOWN or TRYAGAIN and the dead master refuses connections:
      // ioredis refreshes the slot map and resends. Beyond these retries the error reaches the worker, which holds.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      maxRedirections: 16,
      redisOptions: { ...auth, maxRetriesPerRequest: tuning.maxRetriesPerRequest, connectTimeout: 2000 },
    },
  );
}
