import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterProfile } from './cluster-profiles.js';
import { REDIS_LABEL } from './cluster-profiles.js';
import { clusterPorts } from './cluster-ports.js';
import { runLeg, type SuiteResult } from './leg.js';
import { PrivateRedisCluster } from './private-redis-cluster.js';
import { PrivateRedisSentinel } from './private-redis-sentinel.js';
import { PrivateRabbitCluster } from './rabbitmq-cluster.js';
import type { SuiteOptions } from './suite.js';
import type { Teardown } from './teardown.js';
import { note } from './util.js';

/** The cluster profile's fleet: two receivers (each event fanned out to both), two workers, one uploader. */
export const CLUSTER_RECEIVERS = ['a', 'b'] as const;

export interface ClusterSuiteOptions extends SuiteOptions {
  /** First of the 50 ports the private servers take (cluster-ports.ts). */
  readonly portBase: number;
  /** FANIN_NEW_QUEUE_SHARDS of every fleet process (1: `<ns>.new` alone). */
  readonly newQueueShards?: number;
}

/**
 * Brings up a private 3-node RabbitMQ cluster (each node in a cgroup of its own, so it can be cut off), a Redis
 * Cluster and a Sentinel group on fixed ports, then runs each leg of the profile: a fleet whose every process has
 * the cluster's URL list and the leg's Redis URL, streaming while the leg's faults are injected. The caller runs
 * `teardown`.
 */
export async function runClusterSuite(
  profile: ClusterProfile,
  options: ClusterSuiteOptions,
  teardown: Teardown,
): Promise<SuiteResult[]> {
  const ports = clusterPorts(options.portBase);
  const rate = options.rate ?? profile.rate;
  const dir = (name: string) => {
    const p = join(options.workDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  note(
    `profile ${profile.name}: ${profile.legs.map((l) => `${l.steps.length} faults on ${l.redis}`).join(', ')} at ${rate} events/s; ports from ${options.portBase}; work dir ${options.workDir}`,
  );

  const rabbit = await PrivateRabbitCluster.create(dir('rabbitmq'), 3, 'fanin-chaoscl', {
    ports: ports.rabbit,
    cgroups: true,
  });
  teardown.add('destroy the RabbitMQ cluster', () => rabbit.destroy());
  // Registered after the cluster, so run before it: a cut is always removed, whatever stopped the suite.
  teardown.add('remove cut rules', async () => {
    await rabbit.removeLeftoverCuts();
  });
  const leftovers = await rabbit.removeLeftoverCuts();
  if (leftovers > 0) note(`removed ${leftovers} iptables rules an earlier run left`);
  const started = Date.now();
  await rabbit.start(150_000);
  note(
    `private RabbitMQ cluster on ${rabbit.nodes.map((n) => n.port).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const redisCluster = await PrivateRedisCluster.start(dir('redis-cluster'), 2000, ports.redisCluster);
  teardown.add('stop the Redis Cluster', () => redisCluster.stop());
  const sentinel = await PrivateRedisSentinel.start(dir('redis-sentinel'), ports.sentinel);
  teardown.add('stop the Sentinel group', () => sentinel.stop());
  note(
    `private Redis Cluster on ${ports.redisCluster.map((p) => p.port).join(', ')}; Sentinel group on ${ports.sentinel.join(', ')}`,
  );

  const results: SuiteResult[] = [];
  for (const [i, leg] of profile.legs.entries()) {
    const legDir = (name: string) => dir(join(`leg${i + 1}`, name));
    const shards = options.newQueueShards ?? 1;
    const label = `${REDIS_LABEL[leg.redis]}, WAIT ${leg.waitReplicas} at start, AMQP heartbeat ${leg.amqpHeartbeatSeconds ?? 60} s${shards > 1 ? `, ${shards} shards of <ns>.new` : ''}`;
    const amqpUrl = withHeartbeat(rabbit.url, leg.amqpHeartbeatSeconds);
    note(`leg ${i + 1}/${profile.legs.length}: ${label}`);
    results.push(
      await runLeg(
        {
          profile: { name: profile.name, ...leg },
          leg: label,
          runId: randomBytes(4).toString('hex'),
          rate,
          workDir: legDir(''),
          fleet: {
            redisUrl: leg.redis === 'cluster' ? redisCluster.url : sentinel.url,
            amqpUrl,
            receiverAmqpUrl: () => amqpUrl,
            spoolDir: legDir('spool'),
            sinkDir: legDir('out'),
            secondaryDir: legDir('secondary'),
            logDir: legDir('logs'),
            receivers: CLUSTER_RECEIVERS,
            workers: 2,
            env: { FANIN_WORKER_REDIS_WAIT_REPLICAS: String(leg.waitReplicas), FANIN_NEW_QUEUE_SHARDS: String(shards) },
          },
          queueDepth: (q) => rabbit.queueDepth(q),
          context: {
            rabbitCluster: rabbit,
            redisCluster,
            sentinel,
            proxies: new Map(),
            sinkDir: legDir('out'),
            sinkFs: legDir(''),
          },
        },
        teardown,
      ),
    );
  }
  return results;
}

/** Each URL of the list with `?heartbeat=` (amqplib's own parameter), or the list as it is. */
export function withHeartbeat(urls: string, seconds: number | undefined): string {
  if (seconds === undefined) return urls;
  return urls
    .split(',')
    .map((u) => {
      const url = new URL(u);
      url.searchParams.set('heartbeat', String(seconds));
      return url.toString();
    })
    .join(',');
}
