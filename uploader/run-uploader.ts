import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import type { Config } from '../shared/config/settings.js';
import { ConfigError } from '../shared/config/config-error.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import type { Registry } from 'prom-client';
import { FileSink } from './file-sink/file-sink.js';
import { forwardSinkOptionsFromConfig } from './forward-sink/forward-sink-config.js';
import { ForwardSink } from './forward-sink/forward-sink.js';
import type { Sink } from './sink.js';
import { SinkConsumer } from './sink-consumer.js';
import { createUploaderMetrics } from './uploader-metrics.js';
import { join } from 'node:path';

export interface RunningUploader {
  drain(): Promise<void>;
}

function createSink(name: string, config: Config, registry: Registry, log: Logger): Sink {
  if (name === 'file') return new FileSink({ dir: config.fileSinkDir, fsync: config.fileSinkFsync });
  if (name === 'forward') return new ForwardSink(forwardSinkOptionsFromConfig(config), registry, log);
  throw new ConfigError([`sinks: unknown sink "${name}" (known: file, forward)`]);
}

/** One consumer (own channel, own queue) per sink: a slow sink never holds back another. */
export async function runUploader(config: Config): Promise<RunningUploader> {
  const log = createLogger('uploader', config.uploaderId, config.logLevel);
  const registry = createRegistry('uploader', config.uploaderId);
  const metrics = createUploaderMetrics(registry);
  const names = topologyNames(config.namespace);
  const deadLetters = new ConfirmPublisher();
  const consumers = config.sinks.map((name) => new SinkConsumer(createSink(name, config, registry, log), deadLetters, {
    queue: names.sinkQueue(name), deadExchange: names.deadExchange, prefetch: config.uploaderPrefetch, flushIntervalMs: config.fileSinkFlushMs,
    maxAttempts: config.sinkMaxAttempts,
    secondary: config.secondaryDir === '' ? null : new FileSink({ dir: join(config.secondaryDir, name), fsync: true }),
  }, metrics, log));
  // SIGUSR1, td-agent's habit for log rotation: close the sinks' files; the next write reopens them.
  process.on('SIGUSR1', () => {
    log.info('SIGUSR1: reopening sink files');
    for (const c of consumers) void c.reopen();
  });

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
