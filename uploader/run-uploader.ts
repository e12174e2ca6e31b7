import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import type { Config } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { onReopenSignal } from '../shared/process-lifecycle.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { createSinks } from './create-sinks.js';
import { FileSink } from './file-sink/file-sink.js';
import { routeSelectors } from './routing/route-selector.js';
import { resolveSinkPlans, unusedSinkDefinitions } from './sink-plan.js';
import { SinkConsumer } from './sink-consumer.js';
import { createUploaderMetrics, initialiseUploaderMetrics } from './uploader-metrics.js';

export interface RunningUploader {
  drain(): Promise<void>;
}

/** One consumer (own channel, own queue) per sink: a slow sink never holds back another. */
export async function runUploader(config: Config): Promise<RunningUploader> {
  const log = createLogger('uploader', config.uploaderId, config.logLevel);
  const registry = createRegistry('uploader', config.uploaderId);
  const metrics = createUploaderMetrics(registry);
  initialiseUploaderMetrics(metrics, config.sinks);
  const names = topologyNames(config.namespace);
  const deadLetters = new ConfirmPublisher();
  // Named sinks (docs/sinks.md): every option validated before anything starts.
  const plans = resolveSinkPlans(config);
  const unused = unusedSinkDefinitions(config);
  if (unused.length > 0)
    log.warn({ unused }, 'sinkDefinitions not listed in sinks: they get no queue and receive nothing');
  const sinks = await createSinks(plans, config.uploaderId, registry, log);
  const routes = routeSelectors(plans);
  const consumers = plans.map(
    (plan, i) =>
      new SinkConsumer(
        sinks[i]!,
        deadLetters,
        {
          queue: names.sinkQueue(plan.name),
          deadExchange: names.deadExchange,
          prefetch: plan.prefetch,
          batchSize: plan.batchSize,
          flushIntervalMs: plan.flushIntervalMs,
          maxAttempts: plan.maxAttempts,
          route: routes[i]!,
          secondary:
            plan.secondaryDir === null ? null : new FileSink({ dir: plan.secondaryDir, fsync: true, name: plan.name }),
        },
        metrics,
        log,
      ),
  );
  // SIGHUP or SIGUSR1 (logrotate's and td-agent's habits): close the sinks' files; the next write reopens them.
  onReopenSignal(log, 'reopening sink files', () => {
    for (const c of consumers) void c.reopen();
  });

  const session = new BrokerSession(
    config.amqpUrl,
    fleetTopology(config.namespace, config.sinks, config.quorumInitialGroupSize, config.newQueueShards),
    log,
    `fanin uploader ${config.uploaderId}`,
  );
  session.on('ready', (model) => {
    void (async () => {
      try {
        await deadLetters.attach(model);
        for (const c of consumers) await c.attach(model);
        log.info({ sinks: config.sinks }, 'consuming');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot open uploader channels');
      }
    })();
  });
  session.on('lost', () => {
    deadLetters.detach();
    for (const c of consumers) c.detach();
  });
  await session.start();
  const ops = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    isReady: () => consumers.every((c) => c.consuming),
  });

  return {
    drain: async () => {
      await Promise.all(consumers.map((c) => c.drain()));
      await deadLetters.close();
      await session.close();
      await new Promise((r) => ops.close(r));
    },
  };
}
