import { connect, type ChannelModel } from 'amqplib';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../testkit/services.js';
import { freePort } from '../../testkit/free-ports.js';
import { FanoutStream, SinkCollector, WorkerProcess } from './fanout-stream.js';

export interface BacklogRunResult {
  /** New-event batches (both copies counted) decided per second, from the first line out to the last. */
  readonly batchesPerSecond: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly workerLog: string;
}

/**
 * A backlog of fanned-out batches waiting in `<ns>.new`, then the real worker started on it: the time to drain it
 * measures the worker's throughput with the given Redis settings. Bounded by `timeoutMs`.
 */
export async function drainBacklog(o: {
  readonly label: string;
  readonly redisUrl: string;
  readonly partitions: number;
  readonly env?: Record<string, string>;
  readonly lines: number;
  readonly batchSize: number;
  readonly timeoutMs: number;
}): Promise<BacklogRunResult> {
  const namespace = uniqueNamespace(o.label);
  const marker = `b${Date.now().toString(36)}`;
  let conn: ChannelModel | null = null;
  let worker: WorkerProcess | null = null;
  let collector: SinkCollector | null = null;
  let stream: FanoutStream | null = null;
  try {
    conn = await connect(AMQP_URL);
    stream = await FanoutStream.open(conn, namespace);
    await stream.publish(0, o.lines, o.batchSize, marker);
    collector = await SinkCollector.start(conn, namespace);
    worker = WorkerProcess.start({
      FANIN_NAMESPACE: namespace,
      FANIN_AMQP_URL: AMQP_URL,
      FANIN_REDIS_URL: o.redisUrl,
      FANIN_SINKS: 'file',
      FANIN_WORKER_DEDUP_PARTITIONS: String(o.partitions),
      FANIN_METRICS_HOST: '127.0.0.1',
      FANIN_METRICS_PORT: String(await freePort()),
      FANIN_LOG_LEVEL: 'info',
      ...o.env,
    });
    const c = collector;
    await waitFor(
      `${o.lines} lines out`,
      () => (c.tally(marker, o.lines).lost.length === 0 ? true : undefined),
      o.timeoutMs,
      50,
    ).catch(() => undefined);
    const tally = collector.tally(marker, o.lines);
    const times = collector.landed.map((l) => l.at);
    const seconds = times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : Infinity;
    const batches = 2 * Math.ceil(o.lines / o.batchSize);
    return {
      batchesPerSecond: Math.round(batches / seconds),
      lost: tally.lost.length,
      duplicates: tally.sameIdDuplicates + tally.newIdDuplicates,
      workerLog: worker.log,
    };
  } finally {
    await worker?.stop();
    await stream?.close().catch(() => undefined);
    await collector?.close();
    await conn?.close().catch(() => undefined);
    await cleanupNamespace(namespace);
  }
}
