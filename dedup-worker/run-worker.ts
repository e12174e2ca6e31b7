import type { Channel, ConsumeMessage } from 'amqplib';
import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import { BatchDecodeError, decodeNewEventBatch, encodeProcessedBatch, newBatchId, type NewEventBatch } from '../shared/batch-codec.js';
import type { Config } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { onReopenSignal } from '../shared/process-lifecycle.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { batchReceivedAt, isLate } from './batch-age.js';
import { selectUnique, type UniqueSelection } from './batch-decision.js';
import { DedupStore } from './dedup-store.js';
import { partitionsFor } from './partitions-for-mode.js';
import { createRedisClient } from '../shared/redis-client.js';
import { describeRedisEndpoints, parseRedisUrl } from '../shared/redis-endpoints.js';
import { passThroughBatch } from './pass-through.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface RunningWorker {
  drain(): Promise<void>;
}

/**
 * Consumes batches, decides them with one Redis script per batch, publishes the unique events with confirms and
 * only then acks. A worker killed at any instant loses nothing: the batch is redelivered and the script returns the
 * decisions it stored under the batch id instead of counting again (docs/design.md §3).
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
    retryStrategy: (attempt) => Math.min(200 * 2 ** Math.min(attempt, 6), 5000) + Math.floor(Math.random() * 200),
  });
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));
  redis.on('node error', (err: Error, node: string) => log.debug({ err: err.message, node }, 'redis cluster node error'));
  const store = new DedupStore(redis, {
    namespace: config.namespace, partitions, windowMs: config.dedupWindowSeconds * 1000,
    waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs,
  });

  const session = new BrokerSession(config.amqpUrl, fleetTopology(config.namespace, config.sinks, config.quorumInitialGroupSize), log, `fanin worker ${config.workerId}`);
  const publisher = new ConfirmPublisher();
  let channel: Channel | null = null;
  let consumerTag: string | null = null;
  let stopping = false;
  let inflight = 0;
  let starting = false;

  const consuming = () => consumerTag !== null;

  const startConsuming = async () => {
    const redisNeeded = config.redisDownMode === 'hold';
    if (starting || stopping || consuming() || !channel || !publisher.ready || (redisNeeded && redis.status !== 'ready')) return;
    starting = true;
    try {
      const ch = channel;
      const reply = await ch.consume(names.newQueue, (msg) => { if (msg) void handle(ch, msg); });
      consumerTag = reply.consumerTag;
      metrics.holding.set(0);
      log.info('consuming');
    } finally {
      starting = false;
    }
  };

  const hold = async (reason: string) => {
    metrics.holding.set(1);
    const tag = consumerTag;
    consumerTag = null;
    scheduleRedisProbe();
    // A drain stops consuming on purpose: worth an info line, not a warning.
    if (tag && channel) { log[stopping ? 'info' : 'warn']({ reason }, 'holding: stopped consuming'); await channel.cancel(tag).catch(() => undefined); }
  };

  // Redis can refuse writes without dropping the connection (out of memory under noeviction), so no `ready` event
  // would ever end the hold: probe with a small write, backing off, and resume consuming once one succeeds.
  let probeTimer: NodeJS.Timeout | null = null;
  let probeDelayMs = 500;
  const scheduleRedisProbe = () => {
    if (probeTimer || stopping || config.redisDownMode !== 'hold') return;
    probeTimer = setTimeout(() => {
      probeTimer = null;
      if (stopping || consuming()) return;
      store.probe(config.workerId).then(
        () => { probeDelayMs = 500; return startConsuming(); },
        () => { probeDelayMs = Math.min(probeDelayMs * 2, 5000); scheduleRedisProbe(); },
      ).catch((err: Error) => { log.warn({ err: err.message }, 'cannot resume consuming'); scheduleRedisProbe(); });
    }, probeDelayMs);
    probeTimer.unref();
  };

  const handle = async (ch: Channel, msg: ConsumeMessage) => {
    const started = process.hrtime.bigint();
    inflight++;
    metrics.inflight.set(inflight);
    try {
      await processDelivery(ch, msg);
    } finally {
      inflight--;
      metrics.inflight.set(inflight);
      metrics.batchLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  const settle = (ch: Channel, msg: ConsumeMessage, ack: boolean) => {
    // A channel that closed meanwhile has already returned the message to the queue: nothing to settle.
    if (ch !== channel) return;
    try { if (ack) ch.ack(msg); else ch.nack(msg, false, true); } catch (err) { log.debug({ err: (err as Error).message }, 'settle failed'); }
  };

  const processDelivery = async (ch: Channel, msg: ConsumeMessage) => {
    let batch: NewEventBatch;
    try {
      batch = decodeNewEventBatch(msg.content);
    } catch (err) {
      if (!(err instanceof BatchDecodeError)) throw err;
      await deadLetter(ch, msg, err.message);
      return;
    }
    let selection: UniqueSelection;
    let decisions;
    const scriptStarted = process.hrtime.bigint();
    try {
      decisions = await store.decide(batch);
      selection = selectUnique(batch, decisions);
    } catch (err) {
      metrics.redisErrors.inc();
      if (config.redisDownMode === 'pass-through') {
        await publishPassThrough(ch, msg, batch);
        return;
      }
      log.warn({ err: (err as Error).message, batch: newBatchId(batch) }, 'dedup script failed; batch returned to the queue');
      settle(ch, msg, false);
      await hold('redis unavailable');
      return;
    }
    metrics.scriptLatency.observe(Number(process.hrtime.bigint() - scriptStarted) / 1e9);
    countDecisions(batch, selection);

    if (selection.ids.length > 0 && !selection.alreadyPublished) {
      try {
        await publisher.publish(names.processedExchange, encodeProcessedBatch({
          sourceBatchId: newBatchId(batch), ids: selection.ids, bodies: selection.bodies,
        }), { messageId: newBatchId(batch) });
      } catch (err) {
        metrics.publishFailures.inc();
        log.warn({ err: (err as Error).message, batch: newBatchId(batch) }, 'processed batch not confirmed; batch returned to the queue');
        settle(ch, msg, false);
        return;
      }
      metrics.uniquePublished.inc(selection.ids.length);
      if (selection.reused) metrics.republished.inc(selection.ids.length);
    }
    if (!selection.alreadyPublished) {
      // Losing this mark only means a redelivery republishes the same ids; never worth holding the ack for.
      await store.markPublished(batch, decisions).catch((err: Error) => log.warn({ err: err.message }, 'could not mark batch published'));
    }
    metrics.batchesProcessed.inc({ result: selection.alreadyPublished ? 'already_published' : selection.reused ? 'redelivered' : 'processed' });
    settle(ch, msg, true);
  };

  const publishPassThrough = async (ch: Channel, msg: ConsumeMessage, batch: NewEventBatch) => {
    const { ids, bodies } = passThroughBatch(batch);
    try {
      await publisher.publish(names.processedExchange, encodeProcessedBatch({ sourceBatchId: newBatchId(batch), ids, bodies }), { messageId: newBatchId(batch) });
    } catch {
      metrics.publishFailures.inc();
      settle(ch, msg, false);
      return;
    }
    metrics.passThroughEvents.inc(ids.length);
    log.warn({ batch: newBatchId(batch), events: ids.length }, 'redis unavailable: batch passed through undeduplicated (dedup: skipped)');
    settle(ch, msg, true);
  };

  const countDecisions = (batch: NewEventBatch, selection: UniqueSelection) => {
    if (selection.reused) return; // counted when first decided
    let repeats = 0;
    for (const n of selection.occurrences) if (n > 1) repeats++;
    const receiver = batch.receiverId;
    metrics.knowReceiver(receiver);
    const receivedAt = batchReceivedAt(batch);
    if (receivedAt !== null) {
      const now = Date.now();
      metrics.batchAge.observe(Math.max(0, (now - receivedAt) / 1000));
      if (selection.ids.length > 0 && isLate(receivedAt, now, config.dedupWindowSeconds)) metrics.lateCopies.inc({ receiver }, selection.ids.length);
    }
    if (selection.ids.length - repeats > 0) metrics.copies.inc({ receiver, result: 'unique' }, selection.ids.length - repeats);
    if (repeats > 0) metrics.copies.inc({ receiver, result: 'repeat' }, repeats);
    if (selection.duplicates > 0) metrics.copies.inc({ receiver, result: 'duplicate' }, selection.duplicates);
    if (selection.chunkResends > 0) metrics.copies.inc({ receiver, result: 'chunk_resend' }, selection.chunkResends);
  };

  const deadLetter = async (ch: Channel, msg: ConsumeMessage, reason: string) => {
    log.error({ reason, messageId: msg.properties.messageId as unknown }, 'undecodable batch sent to the dead-letter queue');
    try {
      await publisher.publish(names.deadExchange, msg.content, {
        messageId: String(msg.properties.messageId ?? `dead-${Date.now()}`),
        headers: { 'x-fanin-reason': reason, 'x-fanin-stage': 'dedup-worker', 'x-fanin-queue': names.newQueue },
      });
      metrics.batchesProcessed.inc({ result: 'dead_lettered' });
      settle(ch, msg, true);
    } catch {
      settle(ch, msg, false);
    }
  };

  session.on('ready', (model) => {
    void (async () => {
      try {
        await publisher.attach(model);
        const ch = await model.createChannel();
        ch.on('error', () => undefined);
        ch.on('close', () => { if (channel === ch) { channel = null; consumerTag = null; } });
        await ch.prefetch(config.workerPrefetch);
        channel = ch;
        await startConsuming();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot open worker channels');
      }
    })();
  });
  session.on('lost', () => { publisher.detach(); channel = null; consumerTag = null; metrics.holding.set(1); });
  redis.on('ready', () => {
    metrics.redisUp.set(1);
    log.info({ redis: describeRedisEndpoints(redisEndpoints), mode: redisEndpoints.mode, partitions }, 'redis ready');
    startConsuming().catch((err: Error) => log.warn({ err: err.message }, 'cannot start consuming'));
  });
  const holdsWithoutRedis = config.redisDownMode === 'hold';
  redis.on('end', () => { metrics.redisUp.set(0); if (holdsWithoutRedis) void hold('redis connection ended'); });
  redis.on('close', () => { metrics.redisUp.set(0); if (holdsWithoutRedis) void hold('redis connection closed'); });
  // The worker keeps no files: SIGHUP and SIGUSR1 (sent to every role by logrotate) are only logged, not fatal.
  onReopenSignal(log, 'nothing to reopen: the worker keeps no files', () => undefined);
  await session.start();

  const ops = await startOpsServer({
    host: config.metricsHost, port: config.metricsPort, registry, isReady: () => consuming(),
  });

  return {
    drain: async () => {
      stopping = true;
      if (probeTimer) clearTimeout(probeTimer);
      await hold('draining');
      const deadline = Date.now() + Math.max(1000, config.drainTimeoutMs - 2000);
      while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await publisher.close();
      await channel?.close().catch(() => undefined);
      await session.close();
      redis.disconnect();
      await new Promise((r) => ops.close(r));
    },
  };
}
