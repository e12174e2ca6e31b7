import { connect, type ChannelModel } from 'amqplib';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../testkit/services.js';
import { freePort } from '../../testkit/free-ports.js';
import { FanoutStream, SinkCollector, WorkerProcess } from './fanout-stream.js';

export interface FailoverRunResult {
  readonly lines: number;
  readonly lost: number[];
  readonly sameIdDuplicates: number;
  readonly newIdDuplicates: number;
  /** Longest time no processed batch came out, after the fault. */
  readonly pipelinePauseMs: number;
  readonly faultAt: number;
  readonly workerLog: string;
}

export interface FailoverRunOptions {
  readonly label: string;
  readonly redisUrl: string;
  readonly partitions: number;
  readonly waitReplicas?: number;
  readonly rounds: number;
  readonly linesPerRound: number;
  readonly roundPauseMs: number;
  /** Called once, before round `faultRound`: the fault (SIGKILL a master); resolves when it is injected. */
  readonly faultRound: number;
  readonly fault: () => Promise<void>;
  readonly settleTimeoutMs: number;
}

/**
 * The real worker process on a private Redis (cluster or sentinel) and the shared RabbitMQ, fed numbered fanned-out
 * lines at a steady pace; the fault is injected mid-stream. Bounded: a fixed number of rounds, then a bounded wait for
 * every line. Always stops the worker and removes the namespace.
 */
export async function runFailover(o: FailoverRunOptions): Promise<FailoverRunResult> {
  const namespace = uniqueNamespace(o.label);
  const marker = `m${Date.now().toString(36)}`;
  const total = o.rounds * o.linesPerRound;
  let conn: ChannelModel | null = null;
  let worker: WorkerProcess | null = null;
  let collector: SinkCollector | null = null;
  let stream: FanoutStream | null = null;
  try {
    conn = await connect(AMQP_URL);
    stream = await FanoutStream.open(conn, namespace);
    collector = await SinkCollector.start(conn, namespace);
    const metricsPort = await freePort();
    worker = WorkerProcess.start({
      FANIN_NAMESPACE: namespace,
      FANIN_AMQP_URL: AMQP_URL,
      FANIN_REDIS_URL: o.redisUrl,
      FANIN_SINKS: 'file',
      FANIN_WORKER_DEDUP_PARTITIONS: String(o.partitions),
      FANIN_WORKER_REDIS_WAIT_REPLICAS: String(o.waitReplicas ?? 0),
      FANIN_METRICS_HOST: '127.0.0.1',
      FANIN_METRICS_PORT: String(metricsPort),
      FANIN_LOG_LEVEL: 'info',
      FANIN_WORKER_ID: 'w1',
    });
    const w = worker;
    await waitFor(
      'worker ready',
      async () => {
        if (w.exited) throw new Error(`worker exited: ${w.log}`);
        return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => null))?.ok ? true : undefined;
      },
      30_000,
      100,
    );
    let faultAt = 0;
    for (let round = 0; round < o.rounds; round++) {
      if (round === o.faultRound) {
        faultAt = Date.now();
        await o.fault();
      }
      await stream.publish(round * o.linesPerRound, o.linesPerRound, 20, marker);
      await new Promise((r) => setTimeout(r, o.roundPauseMs));
    }
    const c = collector;
    await waitFor(
      `all ${total} lines out`,
      () => (c.tally(marker, total).lost.length === 0 ? true : undefined),
      o.settleTimeoutMs,
      200,
    ).catch(() => undefined);
    // A little longer, to catch late duplicates.
    await new Promise((r) => setTimeout(r, 1000));
    const tally = collector.tally(marker, total);
    return {
      lines: total,
      ...tally,
      pipelinePauseMs: collector.longestGapAfter(faultAt),
      faultAt,
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
