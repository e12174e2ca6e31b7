/**
 * Fixed ports of the cluster suite's private servers, from one base (CHAOS_PORT_BASE): a block of 50, so that two
 * runs on one machine (a CI test and a long run) can take different bases and never meet.
 */
export interface ClusterPorts {
  readonly rabbit: readonly { readonly amqp: number; readonly dist: number }[];
  readonly redisCluster: readonly { readonly port: number; readonly busPort: number }[];
  /** Master, two replicas, three sentinels. */
  readonly sentinel: readonly number[];
}

export const CLUSTER_PORT_BLOCK = 50;

export function clusterPorts(base: number): ClusterPorts {
  if (!Number.isInteger(base) || base < 1024 || base + CLUSTER_PORT_BLOCK > 65_536)
    throw new Error(`port base ${base}: an integer in 1024..${65_536 - CLUSTER_PORT_BLOCK}`);
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => base + from + i);
  return {
    rabbit: range(0, 3).map((amqp, i) => ({ amqp, dist: base + 10 + i })),
    redisCluster: range(20, 6).map((port, i) => ({ port, busPort: base + 30 + i })),
    sentinel: range(40, 6),
  };
}
