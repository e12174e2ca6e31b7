import { randomBytes } from 'node:crypto';
import { BrokerSession } from '../shared/amqp/broker-session.js';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import type { Config } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { onReopenSignal } from '../shared/process-lifecycle.js';
import { startOpsServer } from '../shared/metrics/ops-server.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { ShardRotation } from './shard-rotation.js';
import { BatchPublisher } from './batch-publisher.js';
import { EventBatcher } from './event-batcher.js';
import { startHttpInput, type HttpInput } from './inputs/http-input.js';
import { httpInputOptions } from './inputs/http-input-options.js';
import { startSyslogInputs, type SyslogInputs } from './inputs/syslog-inputs.js';
import { Intake } from './intake.js';
import { createReceiverMetrics, initialiseReceiverMetrics } from './receiver-metrics.js';
import { ReceiverIdLease } from './receiver-id-lease.js';
import { startForwardInput } from './forward/forward-input.js';
import { startRelpInput } from './inputs/relp-input.js';
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
  initialiseReceiverMetrics(metrics, {
    syslog: config.syslogPort > 0,
    syslogTls: config.syslogTlsPort > 0 && config.tlsCertFile !== '',
    forward: config.forwardPort > 0,
    http: config.httpPort > 0,
    spoolMaxBytes: config.spoolDir === '' ? 0 : config.spoolMaxBytes,
  });
  const names = topologyNames(config.namespace);
  const bootId = randomBytes(6).toString('hex');
  // First of all: a second receiver with this id must touch neither the spool nor the broker (ReceiverIdInUseError).
  const lease = new ReceiverIdLease(
    {
      amqpUrl: config.amqpUrl,
      namespace: config.namespace,
      receiverId: config.receiverId,
      bootId,
      drainTimeoutMs: config.drainTimeoutMs,
    },
    metrics.idConflict,
    log,
  );
  await lease.start();

  const session = new BrokerSession(
    config.amqpUrl,
    fleetTopology(config.namespace, config.sinks, config.quorumInitialGroupSize, config.newQueueShards),
    log,
    `fanin receiver ${config.receiverId}`,
  );
  const confirmPublisher = new ConfirmPublisher();
  const spool =
    config.spoolDir === ''
      ? null
      : new SpoolJournal({
          dir: join(config.spoolDir, config.receiverId),
          maxBytes: config.spoolMaxBytes,
          segmentBytes: config.spoolSegmentBytes,
          fsync: config.spoolFsync,
        });
  if (spool?.hasData)
    log.warn(
      { bytes: spool.bytes, segments: spool.segmentCount },
      'spool holds batches from before; replaying them first',
    );
  const spoolAgeTimer = setInterval(() => {
    const mtime = spool?.oldestMtimeMs() ?? null;
    metrics.spoolOldestAge.set(mtime === null ? 0 : Math.max(0, (Date.now() - mtime) / 1000));
  }, 5000);
  spoolAgeTimer.unref();
  const shards = new ShardRotation(names.newExchange, names.newShardExchange, config.newQueueShards);
  const publisher = new BatchPublisher(
    confirmPublisher,
    {
      route: () => shards.route(),
      receiverId: config.receiverId,
      bootId,
      maxUnconfirmed: config.maxUnconfirmedBatches,
      maxBuffered: config.maxBufferedBatches,
    },
    metrics,
    log,
    spool,
    () => !session.blocked,
  );
  const batcher = new EventBatcher(
    { maxEvents: config.batchMaxEvents, maxBytes: config.batchMaxBytes, maxDelayMs: config.batchMaxDelayMs },
    (sealed) => publisher.enqueue(sealed),
  );
  const intake = new Intake(batcher, publisher);

  session.on('ready', (model) => {
    confirmPublisher.attach(model).then(
      () => publisher.resume(),
      (err: Error) => log.error({ err: err.message }, 'cannot open confirm channel'),
    );
  });
  session.on('lost', () => confirmPublisher.detach());
  session.on('blocked', () => publisher.resume()); // new batches now go to the spool
  session.on('unblocked', () => publisher.resume());
  // SIGHUP or SIGUSR1 (td-agent's habit): publish the open batch now instead of at its age bound.
  onReopenSignal(log, 'flushing the open batch', () => batcher.flush());
  await session.start();

  const ops = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    isReady: () => session.connected && confirmPublisher.ready && !session.blocked,
  });

  const syslog: SyslogInputs = await startSyslogInputs(config, intake, metrics, log);
  let http: HttpInput | null = null;
  if (config.httpPort > 0) http = await startHttpInput(httpInputOptions(config), intake, metrics, log);
  const forward = await startForwardInput(config, intake, registry, metrics, log);
  const relp = await startRelpInput(config, intake, registry, metrics, log);
  log.info(
    {
      bootId,
      forward: config.forwardPort,
      relp: config.relpPort,
      syslog: config.syslogPort,
      syslogTls: config.syslogTlsPort,
      http: config.httpPort,
      metrics: config.metricsPort,
    },
    'receiver listening',
  );

  return {
    drain: async () => {
      lease.startDraining();
      // Forward and RELP connections stop reading at once but keep the batcher's age bound to get their pending acks out.
      await Promise.all([
        syslog.close(),
        http?.close(Math.max(1000, Math.floor(config.drainTimeoutMs / 3))),
        forward?.close(),
        relp?.close(),
      ]);
      batcher.flush();
      const left = await publisher.drain(Math.max(1000, config.drainTimeoutMs - 2000));
      if (left > 0)
        log.error(
          { batches: left },
          'drain ended with batches neither confirmed nor spooled; their events exist only at the other receivers',
        );
      publisher.close();
      await confirmPublisher.close();
      await session.close();
      await lease.close(); // last: a replacement with this id waits until nothing of ours publishes
      await new Promise((r) => ops.close(r));
    },
  };
}
