import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import type { Config } from '../shared/config/settings.js';
import { ConfigError } from '../shared/config/config-error.js';
import { createLogger } from '../shared/logger.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { FileSink } from './file-sink/file-sink.js';
import type { Sink } from './sink.js';
import { SinkConsumer } from './sink-consumer.js';
import { createUploaderMetrics } from './uploader-metrics.js';

export interface RunningUploader {
  drain(): Promise<void>;
}

function createSink(name: string, config: Config): Sink {
  if (name === 'file') return new FileSink({ dir: config.fileSinkDir, fsync: config.fileSinkFsync });
  throw new ConfigError([`sinks: unknown sink "${name}" (known: file)`]);
}

/** One consumer (own channel, own queue) per sink: a slow sink never holds back another. */
export async function runUploader(config: Config): Promise<RunningUploader> {
  const log = createLogger('uploader', config.uploaderId, config.logLevel);
  const registry = createRegistry('uploader', config.uploaderId);
  const metrics = createUploaderMetrics(registry);
  const names = topologyNames(config.namespace);
  const deadLetters = new ConfirmPublisher();
  const consumers = config.sinks.map((name) => new SinkConsumer(createSink(name, config), deadLetters, {
    queue: names.sinkQueue(name), deadExchange: names.deadExchange, prefetch: config.uploaderPrefetch, flushIntervalMs: config.fileSinkFlushMs,
  }, metrics, log));

  const session = new BrokerSession(config.amqpUrl, fleetTopology(config.namespace, config.sinks), log, `fanin uploader ${config.uploaderId}`);
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
  session.on('lost', () => { deadLetters.detach(); for (const c of consumers) c.detach(); });
  await session.start();
  const ops = await startOpsServer({
    host: config.metricsHost, port: config.metricsPort, registry, isReady: () => consumers.every((c) => c.consuming),
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
