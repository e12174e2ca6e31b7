import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:dgram';
import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import type { Config } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { BatchPublisher } from './batch-publisher.js';
import { EventBatcher } from './event-batcher.js';
import { startHttpInput } from './inputs/http-input.js';
import { startSyslogTcp, type SyslogTcpServer } from './inputs/syslog-tcp.js';
import { startSyslogUdp } from './inputs/syslog-udp.js';
import { Intake } from './intake.js';
import { createReceiverMetrics } from './receiver-metrics.js';
import { join } from 'node:path';
import { SpoolJournal } from './spool/spool-journal.js';

export interface RunningReceiver {
  /** Stop intake, publish everything held, wait for confirms (bounded), disconnect. */
  drain(): Promise<void>;
}

export async function runReceiver(config: Config): Promise<RunningReceiver> {
  const log = createLogger('receiver', config.receiverId, config.logLevel);
  const registry = createRegistry('receiver', config.receiverId);
  const metrics = createReceiverMetrics(registry);
  const names = topologyNames(config.namespace);
  const bootId = randomBytes(6).toString('hex');

  const session = new BrokerSession(config.amqpUrl, fleetTopology(config.namespace, config.sinks), log, `fanin receiver ${config.receiverId}`);
  const confirmPublisher = new ConfirmPublisher();
  const spool = config.spoolDir === '' ? null : new SpoolJournal({
    dir: join(config.spoolDir, config.receiverId), maxBytes: config.spoolMaxBytes, segmentBytes: config.spoolSegmentBytes, fsync: config.spoolFsync,
  });
  if (spool?.hasData) log.warn({ bytes: spool.bytes, segments: spool.segmentCount }, 'spool holds batches from before; replaying them first');
  const spoolAgeTimer = setInterval(() => {
    const mtime = spool?.oldestMtimeMs() ?? null;
    metrics.spoolOldestAge.set(mtime === null ? 0 : Math.max(0, (Date.now() - mtime) / 1000));
  }, 5000);
  spoolAgeTimer.unref();
  const publisher = new BatchPublisher(confirmPublisher, {
    exchange: names.newExchange, receiverId: config.receiverId, bootId,
    maxUnconfirmed: config.maxUnconfirmedBatches, maxBuffered: config.maxBufferedBatches,
  }, metrics, log, spool, () => !session.blocked);
  const batcher = new EventBatcher(
    { maxEvents: config.batchMaxEvents, maxBytes: config.batchMaxBytes, maxDelayMs: config.batchMaxDelayMs },
    (sealed) => publisher.enqueue(sealed),
  );
  const intake = new Intake(batcher, publisher);

  session.on('ready', (model) => {
    confirmPublisher.attach(model).then(() => publisher.resume(), (err: Error) => log.error({ err: err.message }, 'cannot open confirm channel'));
  });
  session.on('lost', () => confirmPublisher.detach());
  session.on('blocked', () => publisher.resume()); // new batches now go to the spool
  session.on('unblocked', () => publisher.resume());
  await session.start();

  const ops = await startOpsServer({
    host: config.metricsHost, port: config.metricsPort, registry,
    isReady: () => session.connected && confirmPublisher.ready && !session.blocked,
  });

  let udp: Socket | null = null;
  let tcp: SyslogTcpServer | null = null;
  let http: Server | null = null;
  if (config.syslogPort > 0) {
    const syslogOptions = {
      host: config.listenHost, port: config.syslogPort, receiverId: config.receiverId,
      maxFrameBytes: config.maxFrameBytes, hashSourceAddress: config.hashSourceAddress,
    };
    udp = await startSyslogUdp(syslogOptions, intake, metrics, log);
    tcp = await startSyslogTcp(syslogOptions, intake, metrics, log);
  }
  if (config.httpPort > 0) {
    http = await startHttpInput(
      { host: config.listenHost, port: config.httpPort, receiverId: config.receiverId, maxBodyBytes: config.httpMaxBodyBytes },
      intake, metrics, log,
    );
  }
  log.info({ bootId, syslog: config.syslogPort, http: config.httpPort, metrics: config.metricsPort }, 'receiver listening');

  return {
    drain: async () => {
      udp?.close();
      await Promise.all([tcp?.close(), http ? new Promise((r) => http.close(r)) : undefined]);
      batcher.flush();
      const left = await publisher.drain(Math.max(1000, config.drainTimeoutMs - 2000));
      if (left > 0) log.error({ batches: left }, 'drain ended with batches neither confirmed nor spooled; their events exist only at the other receivers');
      publisher.close();
      await confirmPublisher.close();
      await session.close();
      await new Promise((r) => ops.close(r));
    },
  };
}
