import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { QueueConsumer } from '../shared/amqp/queue-consumer.js';
import { fleetTopology, newQueueShards, topologyNames } from '../shared/amqp/topology.js';
import { backoffDelayMs, type Backoff } from '../shared/backoff.js';
import type { Config } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { onReopenSignal } from '../shared/process-lifecycle.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { createRedisClient } from '../shared/redis-client.js';
import { describeRedisEndpoints, parseRedisUrl } from '../shared/redis-endpoints.js';
import { BatchDecider } from './batch-decider.js';
import { DedupStore } from './dedup-store.js';
import { partitionsFor } from './partitions-for-mode.js';
import { RedisHold } from './redis-hold.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface RunningWorker {
  drain(): Promise<void>;
}

/** Redis reconnect delays: capped lower than the broker's, since every batch waits on Redis while the worker holds. */
const REDIS_RECONNECT_BACKOFF: Backoff = { initialDelayMs: 200, maxDelayMs: 5000 };

/**
 * Consumes batches, decides them with one Redis script per batch, publishes the unique events with confirms and
 * only then acks. A worker killed at any instant loses nothing: the batch is redelivered and the script returns the
 * decisions it stored under the batch id instead of counting again (docs/design.md §3). Three parts: the shared
 * queue consumer on `<ns>.new`, the batch decider it hands deliveries to, and the Redis hold that stops consuming
 * while Redis cannot decide.
 */
export async function runWorker(config: Config): Promise<RunningWorker> {
  const log = createLogger('dedup-worker', config.workerId, config.logLevel);
  const registry = createRegistry('dedup-worker', config.workerId);
  const metrics = createWorkerMetrics(registry);
  metrics.dedupWindow.set(config.dedupWindowSeconds);
  const names = topologyNames(config.namespace);

  const redisEndpoints = parseRedisUrl(config.redisUrl);
  const partitions = partitionsFor(redisEndpoints.mode, config.dedupPartitions);
  // Fail fast instead of queueing commands while Redis is away: the worker holds and batches wait in RabbitMQ.
  const redis = createRedisClient(redisEndpoints, {
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => backoffDelayMs(attempt, REDIS_RECONNECT_BACKOFF),
  });
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));
  redis.on('node error', (err: Error, node: string) =>
    log.debug({ err: err.message, node }, 'redis cluster node error'),
  );
  const store = new DedupStore(redis, {
    namespace: config.namespace,
    partitions,
    windowMs: config.dedupWindowSeconds * 1000,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  });
  const hold = new RedisHold({
    mode: config.redisDownMode,
    probe: () => store.probe(config.workerId),
    isRedisReady: () => redis.status === 'ready',
    // Only the Sentinel client was seen to stop for good; a Cluster client manages its node connections itself and
    // one torn down mid-failover has to rediscover every slot.
    revive:
      redisEndpoints.mode !== 'sentinel'
        ? undefined
        : () => {
            if (redis.status === 'ready') return; // Redis answers but refuses writes: nothing to reconnect
            log.warn({ status: redis.status }, "redis still unreachable: restarting the client's connection");
            if (redis.status === 'end') redis.connect().catch(() => undefined);
            else redis.disconnect(true);
          },
  });

  const publisher = new ConfirmPublisher();
  const decider = new BatchDecider(
    {
      processedExchange: names.processedExchange,
      redisDownMode: config.redisDownMode,
      dedupWindowSeconds: config.dedupWindowSeconds,
    },
    { store, publisher, metrics, log, onRedisFailed: (reason) => hold.redisLost(reason) },
  );
  // One consumer per shard of <ns>.new, each on its own channel with its own prefetch; one shard is <ns>.new alone.
  const consumers = newQueueShards(config.namespace, config.newQueueShards).map(
    (queue) =>
      new QueueConsumer(
        {
          queue,
          prefetch: config.workerPrefetch,
          log,
          mayConsume: () => publisher.ready && hold.allowsConsuming,
          deadLetter: {
            publisher,
            exchange: names.deadExchange,
            stage: 'dedup-worker',
            logMessage: 'undecodable batch sent to the dead-letter queue',
            onDeadLettered: () => metrics.batchesProcessed.inc({ result: 'dead_lettered' }),
          },
        },
        decider.handle,
      ),
  );
  const allConsuming = () => consumers.every((c) => c.consuming);
  for (const c of consumers) {
    c.on('consuming', () => {
      if (allConsuming()) {
        metrics.holding.set(0);
        log.info({ queues: consumers.length }, 'consuming');
      }
    });
  }
  hold.on('hold', (reason) => {
    metrics.holding.set(1);
    void Promise.all(consumers.map((c) => c.pause())).then((was) => {
      if (was.some(Boolean)) log.warn({ reason }, 'holding: stopped consuming');
    });
  });
  hold.on('resume', () => {
    for (const c of consumers) void c.resume();
  });

  const session = new BrokerSession(
    config.amqpUrl,
    fleetTopology(config.namespace, config.sinks, config.quorumInitialGroupSize, config.newQueueShards),
    log,
    `fanin worker ${config.workerId}`,
  );
  session.on('ready', (model) => {
    void (async () => {
      try {
        await publisher.attach(model);
        for (const c of consumers) await c.attach(model);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot open worker channels');
      }
    })();
  });
  session.on('lost', () => {
    publisher.detach();
    for (const c of consumers) c.detach();
    metrics.holding.set(1);
  });
  redis.on('ready', () => {
    metrics.redisUp.set(1);
    log.info({ redis: describeRedisEndpoints(redisEndpoints), mode: redisEndpoints.mode, partitions }, 'redis ready');
    hold.redisReady();
  });
  let draining = false;
  redis.on('end', () => {
    metrics.redisUp.set(0);
    hold.redisLost('redis connection ended');
    // The client ends for good only when we disconnect it (a drain) or when it gave up: ioredis's Sentinel client
    // gives up when a failover notice interrupts its search for the master. A worker must not wait on it forever.
    if (draining) return;
    setTimeout(() => {
      if (draining || redis.status !== 'end') return;
      log.warn('redis client stopped reconnecting; connecting again');
      redis.connect().catch(() => undefined);
    }, 1000).unref();
  });
  redis.on('close', () => {
    metrics.redisUp.set(0);
    hold.redisLost('redis connection closed');
  });
  // The worker keeps no files: SIGHUP and SIGUSR1 (sent to every role by logrotate) are only logged, not fatal.
  onReopenSignal(log, 'nothing to reopen: the worker keeps no files', () => undefined);
  await session.start();

  const ops = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    isReady: allConsuming,
  });

  return {
    drain: async () => {
      draining = true;
      hold.stop();
      metrics.holding.set(1);
      // A drain stops consuming on purpose: worth an info line, not a warning.
      if ((await Promise.all(consumers.map((c) => c.stop()))).some(Boolean))
        log.info({ reason: 'draining' }, 'holding: stopped consuming');
      const drainMs = Math.max(1000, config.drainTimeoutMs - 2000);
      await Promise.all(consumers.map((c) => c.drain(drainMs)));
      await publisher.close();
      await session.close();
      redis.disconnect();
      await new Promise((r) => ops.close(r));
    },
  };
}
