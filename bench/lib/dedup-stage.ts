/**
 * The dedup stage on its own: real `fanin worker` processes draining a backlog of new-event batches from the real
 * RabbitMQ through the real Redis into the processed exchange (its sink queue), with no receivers or uploader
 * competing for the CPU. The backlog has the pipeline's shape: every batch of keys once from receiver a and once
 * from receiver b (fan-out 2), each event a real envelope body. Throughput is copies decided (the workers' own
 * counters, polled every 100 ms) ÷ time from the first decided to the last, so it is the stage's, not the
 * publisher's. The caller compares it with Redis's ceiling for the same script (redis-ceiling.ts).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { FleetLauncher } from '../../cli/fleet/fleet-launcher.js';
import { ConfirmPublisher } from '../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../shared/amqp/topology.js';
import { encodeBody, encodeNewEventBatch, newBatchId } from '../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import { syslogEvent } from '../../testkit/sink-fixtures.js';
import { freePorts } from './ports.js';
import { cpuPercent, serverPids, ProcSampler } from './proc.js';
import { parseCounter, scrapeText } from './prom-histogram.js';

export interface DedupStageOptions {
  readonly amqpUrl: string;
  readonly redisUrl: string;
  /** Own namespace; the caller deletes its queues, exchanges and Redis keys afterwards. */
  readonly namespace: string;
  readonly workers: number;
  /** Pairs of batches (a and b) in the backlog. */
  readonly batchPairs: number;
  readonly batchEvents: number;
}

export interface DedupStageResult {
  readonly workers: number;
  readonly copies: number;
  readonly seconds: number;
  readonly copiesPerSecond: number;
  readonly uniquePerSecond: number;
  /** % of one core over the drain, per worker process and for RabbitMQ and Redis. */
  readonly cpuPercent: Record<string, number>;
}

export async function measureDedupStage(o: DedupStageOptions): Promise<DedupStageResult> {
  const names = topologyNames(o.namespace);
  const model = await connect(o.amqpUrl);
  let workers: FleetLauncher | null = null;
  try {
    const ch = await model.createChannel();
    await declareTopology(ch, fleetTopology(o.namespace, ['file']));
    await ch.close();
    const publisher = new ConfirmPublisher();
    await publisher.attach(model);
    const receivedAt = Date.now();
    const bodies = Array.from({ length: o.batchEvents }, (_, i) => encodeBody(syslogEvent(i, receivedAt)));
    const bootId = randomBytes(4).toString('hex');
    for (let pair = 0; pair < o.batchPairs; pair++) {
      const keys = randomBytes(o.batchEvents * EVENT_KEY_BYTES);
      await Promise.all(
        ['a', 'b'].map((receiverId) => {
          const batch = { receiverId, bootId, seq: pair, keys, bodies };
          return publisher.publish(names.newExchange, encodeNewEventBatch(batch), { messageId: newBatchId(batch) });
        }),
      );
    }
    const copies = 2 * o.batchPairs * o.batchEvents;

    const ports = await freePorts(o.workers);
    const sampler = new ProcSampler();
    workers = new FleetLauncher(
      ports.map((port, w) => ({
        name: `worker-s${w + 1}`,
        role: 'worker',
        env: {
          FANIN_NAMESPACE: o.namespace,
          FANIN_WORKER_ID: `s${w + 1}`,
          FANIN_METRICS_PORT: String(port),
          FANIN_METRICS_HOST: '127.0.0.1',
          FANIN_AMQP_URL: o.amqpUrl,
          FANIN_REDIS_URL: o.redisUrl,
          FANIN_SINKS: 'file',
          FANIN_LOG_LEVEL: 'warn',
        },
      })),
      { output: 'ignore' },
    );
    workers.start();
    sampler.track([
      ...workers.members.map((m) => ({ label: m.name, pid: m.pid! })),
      ...serverPids(o.amqpUrl, 5672, 'beam.smp').map((pid) => ({ label: 'rabbitmq', pid })),
      ...serverPids(o.redisUrl, 6379, 'redis-server').map((pid) => ({ label: 'redis', pid })),
    ]);
    const decided = async () => {
      let sum = 0;
      for (const port of ports) {
        try {
          sum += parseCounter(await scrapeText(`http://127.0.0.1:${port}/metrics`), 'fanin_worker_copies_total');
        } catch {
          /* not up yet */
        }
      }
      return sum;
    };
    let first = 0;
    let last = 0;
    let cpu0 = sampler.cpuSnapshot();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const n = await decided();
      const now = Date.now();
      if (n > 0 && first === 0) {
        first = now;
        cpu0 = sampler.cpuSnapshot();
      }
      if (n >= copies) {
        last = now;
        break;
      }
      if (now > deadline) throw new Error(`dedup stage: ${n} of ${copies} copies decided after 120 s`);
      await sleep(100);
    }
    const seconds = Math.max(0.001, (last - first) / 1000);
    return {
      workers: o.workers,
      copies,
      seconds: Math.round(seconds * 100) / 100,
      copiesPerSecond: Math.round(copies / seconds),
      uniquePerSecond: Math.round(copies / 2 / seconds),
      cpuPercent: cpuPercent(cpu0, sampler.cpuSnapshot(), seconds),
    };
  } finally {
    await workers?.stop(30_000);
    await model.close().catch(() => undefined);
  }
}
