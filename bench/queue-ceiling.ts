/**
 * `npm run bench:queue`: the ceiling of ONE quorum queue declared as fanin declares `<ns>.new`, on a private 3-node
 * RabbitMQ cluster and on a private single node, side by side (runs alternate between the two, since the machine's
 * speed drifts). Publishers and consumers behave like receivers and workers (bench/lib/queue-load.ts) and move real
 * fanin batches (bench/lib/fanin-batches.ts). Per run: batches/s and events/s acked, confirm latency, and the CPU
 * time of the nodes' beam.smp processes (from /proc) per million events. Then one run per topology at a fixed
 * fraction of its median rate, for the confirm latency below saturation. With BENCH_QUEUE_SINK=1 (the default) the
 * cluster's `<ns>.sink.file` queue is measured too, with the processed batches a worker publishes at fan-out 2.
 *
 * Writes bench/results/queue-latest.json and bench/results/history/<UTC time>-queue-<BENCH_LABEL>.json. Needs
 * rabbitmq-server on this machine and root (the nodes run as the rabbitmq user); touches no shared broker.
 *
 * Settings (environment): BENCH_QUEUE_RUNS=5 BENCH_QUEUE_SECONDS=10 BENCH_QUEUE_WARMUP_SECONDS=3
 * BENCH_QUEUE_PUBLISHERS=2 BENCH_QUEUE_CONSUMERS=2 BENCH_QUEUE_MAX_BACKLOG=256 BENCH_QUEUE_MAX_BATCHES=200000
 * BENCH_QUEUE_LATENCY_PERCENT=50 BENCH_QUEUE_LATENCY_SECONDS=10 BENCH_QUEUE_SINK=1 BENCH_LABEL=run, and the receiver's
 * batch bounds BENCH_QUEUE_BATCH_MAX_EVENTS and BENCH_QUEUE_BATCH_MAX_BYTES (fanin's defaults unless set).
 * BENCH_QUEUE_COMPARE_BATCH_BYTES=<n> adds `<ns>.new` with n-byte batches on both brokers, in the same rounds.
 */
import { mkdirSync, mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
import { PrivateRabbitCluster } from '../chaos/rabbitmq-cluster.js';
import { run } from '../chaos/util.js';
import { declareTopology, fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import { settings } from '../shared/config/settings.js';
import { median, positiveIntSetting, quantile } from './lib/bench-numbers.js';
import { DEFAULT_BATCH_BOUNDS, faninBatchPool, processedBatchPool, type BatchPool } from './lib/fanin-batches.js';
import { clockTicksPerSecond, pidsByComm, readCpuTicks, readEnviron, readMachineCpuTicks } from './lib/proc.js';
import { runQueueLoad, type QueueLoadResult } from './lib/queue-load.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/queue-latest.json', import.meta.url));

const cfg = {
  runs: positiveIntSetting('BENCH_QUEUE_RUNS', 5),
  seconds: positiveIntSetting('BENCH_QUEUE_SECONDS', 10),
  warmupSeconds: positiveIntSetting('BENCH_QUEUE_WARMUP_SECONDS', 3),
  publishers: positiveIntSetting('BENCH_QUEUE_PUBLISHERS', 2),
  consumers: positiveIntSetting('BENCH_QUEUE_CONSUMERS', 2),
  maxBacklog: positiveIntSetting('BENCH_QUEUE_MAX_BACKLOG', 256),
  maxBatches: positiveIntSetting('BENCH_QUEUE_MAX_BATCHES', 200_000),
  latencyPercent: positiveIntSetting('BENCH_QUEUE_LATENCY_PERCENT', 50),
  latencySeconds: positiveIntSetting('BENCH_QUEUE_LATENCY_SECONDS', 10),
  sinkQueue: process.env.BENCH_QUEUE_SINK !== '0',
  label: process.env.BENCH_LABEL ?? 'run',
  batchBounds: {
    maxEvents: positiveIntSetting('BENCH_QUEUE_BATCH_MAX_EVENTS', DEFAULT_BATCH_BOUNDS.maxEvents),
    maxBytes: positiveIntSetting('BENCH_QUEUE_BATCH_MAX_BYTES', DEFAULT_BATCH_BOUNDS.maxBytes),
  },
  /** When set, `<ns>.new` is also measured with batches of this many bytes, alternated with the others. */
  compareBatchBytes: process.env.BENCH_QUEUE_COMPARE_BATCH_BYTES
    ? positiveIntSetting('BENCH_QUEUE_COMPARE_BATCH_BYTES', 1)
    : 0,
  // What fanin itself uses: the receiver's confirm window, the worker's prefetch, the quorum group size.
  maxUnconfirmed: settings.maxUnconfirmedBatches.default,
  prefetch: settings.workerPrefetch.default,
  quorumInitialGroupSize: settings.quorumInitialGroupSize.default,
};
const POOL_BATCHES = 32;

const out = (line: string) => process.stdout.write(`${line}\n`);
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

/** A broker under test: its nodes, and the queue and exchange the runs load. */
interface Subject {
  readonly name: string;
  readonly cluster: PrivateRabbitCluster;
  readonly exchange: string;
  readonly queue: string;
  readonly pools: readonly BatchPool[];
  leader: string | null;
  members: string[];
}

interface RunRecord {
  readonly subject: string;
  readonly kind: 'max' | 'fixed';
  readonly targetBatchesPerSecond: number;
  readonly batchesPerSecond: number;
  readonly eventsPerSecond: number;
  readonly confirmedBatchesPerSecond: number;
  readonly confirmP50Ms: number;
  readonly confirmP99Ms: number;
  readonly confirmSamples: number;
  /** CPU-s of each node's beam.smp over the window, by node name. */
  readonly brokerCpuSeconds: Record<string, number>;
  readonly brokerCpuSecondsPerMillionEvents: number;
  /** % of one core used by the broker nodes together over the window. */
  readonly brokerCpuPercent: number;
  /** The bench process itself (publishers and consumers), % of one core. */
  readonly clientCpuPercent: number;
  /** The whole machine's busy share over the window, % of all cores. */
  readonly machineBusyPercent: number;
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly maxBacklogSeen: number;
  readonly published: number;
  readonly publishErrors: string[];
  /** Nodes whose beam.smp used no CPU in the window. */
  readonly silentNodes: string[];
}

/** The beam.smp processes of a cluster's nodes (the node name is in their environment), by node name. */
function beamPids(cluster: PrivateRabbitCluster): Map<string, number> {
  const names = new Set(cluster.nodes.map((n) => n.nodeName));
  const pids = new Map<string, number>();
  for (const pid of pidsByComm('beam.smp')) {
    const node = readEnviron(pid).RABBITMQ_NODENAME;
    if (node && names.has(node)) pids.set(node, pid);
  }
  return pids;
}

function cpuTicksOf(pids: Map<string, number>): Map<string, number> {
  return new Map([...pids].map(([node, pid]) => [node, readCpuTicks(pid) ?? 0]));
}

async function measure(
  s: Subject,
  kind: 'max' | 'fixed',
  targetBatchesPerSecond: number,
  seconds: number,
): Promise<RunRecord> {
  const pids = beamPids(s.cluster);
  if (pids.size !== s.cluster.nodes.length)
    throw new Error(`${s.name}: found ${pids.size} beam.smp processes for ${s.cluster.nodes.length} nodes`);
  const urls = s.cluster.nodes.map((n) => n.url);
  let brokerBefore = new Map<string, number>(),
    brokerAfter = new Map<string, number>();
  let machineBefore = readMachineCpuTicks(),
    machineAfter = machineBefore;
  let clientBefore = process.cpuUsage(),
    clientAfter = clientBefore;
  const loadBefore = os.loadavg()[0]!;
  const r: QueueLoadResult = await runQueueLoad({
    // Publisher i on node i, consumer i on node i + 1: some clients reach the queue through its leader's node,
    // some through a follower's, as fanin processes that each shuffle the URL list do.
    publisherUrls: urls,
    consumerUrls: [...urls.slice(1), urls[0]!],
    exchange: s.exchange,
    queue: s.queue,
    pools: s.pools,
    consumers: cfg.consumers,
    maxUnconfirmed: cfg.maxUnconfirmed,
    prefetch: cfg.prefetch,
    maxBacklog: cfg.maxBacklog,
    warmupSeconds: cfg.warmupSeconds,
    seconds,
    targetBatchesPerSecond,
    maxBatches: cfg.maxBatches,
    onWindow: (edge) => {
      if (edge === 'start') {
        brokerBefore = cpuTicksOf(pids);
        machineBefore = readMachineCpuTicks();
        clientBefore = process.cpuUsage();
      } else {
        brokerAfter = cpuTicksOf(pids);
        machineAfter = readMachineCpuTicks();
        clientAfter = process.cpuUsage(clientBefore);
      }
    },
  });
  const hz = clockTicksPerSecond();
  const brokerCpuSeconds = Object.fromEntries(
    [...brokerAfter].map(([node, t]) => [node, round((t - (brokerBefore.get(node) ?? t)) / hz, 2)]),
  );
  const brokerTotal = Object.values(brokerCpuSeconds).reduce((a, b) => a + b, 0);
  // A member that used no CPU at all in the window was not serving (stopped, or its process gone): say so.
  const silentNodes = Object.entries(brokerCpuSeconds)
    .filter(([, cpu]) => cpu <= 0)
    .map(([node]) => node);
  const machineBusy = (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);
  return {
    subject: s.name,
    kind,
    targetBatchesPerSecond: round(targetBatchesPerSecond),
    batchesPerSecond: round(r.batchesAcked / seconds),
    eventsPerSecond: round(r.eventsAcked / seconds),
    confirmedBatchesPerSecond: round(r.batchesConfirmed / seconds),
    confirmP50Ms: round(quantile(r.confirmLatenciesMs, 0.5), 1),
    confirmP99Ms: round(quantile(r.confirmLatenciesMs, 0.99), 1),
    confirmSamples: r.confirmLatenciesMs.length,
    brokerCpuSeconds,
    brokerCpuSecondsPerMillionEvents: r.eventsAcked > 0 ? round((brokerTotal / r.eventsAcked) * 1e6, 1) : NaN,
    brokerCpuPercent: round((brokerTotal / seconds) * 100, 1),
    clientCpuPercent: round(((clientAfter.user + clientAfter.system) / 1e6 / seconds) * 100, 1),
    machineBusyPercent: round(machineBusy * 100, 1),
    loadAverage: { before: round(loadBefore, 2), after: round(os.loadavg()[0]!, 2) },
    maxBacklogSeen: r.maxBacklogSeen,
    published: r.published,
    publishErrors: r.publishErrors.slice(0, 5),
    silentNodes,
  };
}

async function startSubject(
  name: string,
  dir: string,
  size: number,
  queueOf: 'new' | 'sink',
  pools: readonly BatchPool[],
  cluster?: PrivateRabbitCluster,
): Promise<Subject> {
  let c = cluster;
  if (!c) {
    const started = Date.now();
    c = await PrivateRabbitCluster.create(join(dir, name), size, `fanin-qc${size}`);
    await c.start(180_000);
    out(`  ${name}: ${size} node(s) running after ${round((Date.now() - started) / 1000, 1)} s`);
  }
  const ns = `qc-${name}`;
  const names = topologyNames(ns);
  // Declared through the first node: RabbitMQ places a new quorum queue's leader on the declaring client's node.
  const model = await connect(c.nodes[0]!.url);
  try {
    const ch = await model.createChannel();
    await declareTopology(ch, fleetTopology(ns, ['file'], cfg.quorumInitialGroupSize));
    await ch.close();
  } finally {
    await model.close().catch(() => undefined);
  }
  const queue = queueOf === 'new' ? names.newQueue : names.sinkQueue('file');
  return {
    name,
    cluster: c,
    queue,
    exchange: queueOf === 'new' ? names.newExchange : names.processedExchange,
    pools,
    leader: (await c.leaderOf(queue))?.nodeName ?? null,
    members: await c.membersOf(queue),
  };
}

interface Summary {
  readonly runs: number;
  readonly batchesPerSecond: { readonly median: number; readonly min: number; readonly max: number };
  readonly eventsPerSecond: { readonly median: number; readonly min: number; readonly max: number };
  readonly eventsPerBatch: number;
  readonly messageBytes: number;
  readonly confirmP50Ms: number;
  readonly confirmP99Ms: number;
  readonly brokerCpuSecondsPerMillionEvents: number;
  readonly brokerCpuPercent: number;
  readonly leaderCpuShare: number | null;
  readonly machineBusyPercent: number;
  readonly fixedRate: RunRecord | null;
}

function summarize(s: Subject, records: readonly RunRecord[]): Summary {
  const max = records.filter((r) => r.subject === s.name && r.kind === 'max');
  const spread = (f: (r: RunRecord) => number) => ({
    median: round(median(max.map(f))),
    min: Math.min(...max.map(f)),
    max: Math.max(...max.map(f)),
  });
  const batches = s.pools.flatMap((p) => p.batches);
  const leaderShares = max
    .map((r) => {
      const total = Object.values(r.brokerCpuSeconds).reduce((a, b) => a + b, 0);
      return s.leader && total > 0 ? (r.brokerCpuSeconds[s.leader] ?? 0) / total : NaN;
    })
    .filter(Number.isFinite);
  return {
    runs: max.length,
    batchesPerSecond: spread((r) => r.batchesPerSecond),
    eventsPerSecond: spread((r) => r.eventsPerSecond),
    eventsPerBatch: round(batches.reduce((a, b) => a + b.events, 0) / batches.length, 1),
    messageBytes: round(batches.reduce((a, b) => a + b.payload.byteLength, 0) / batches.length),
    confirmP50Ms: round(median(max.map((r) => r.confirmP50Ms)), 1),
    confirmP99Ms: round(median(max.map((r) => r.confirmP99Ms)), 1),
    brokerCpuSecondsPerMillionEvents: round(median(max.map((r) => r.brokerCpuSecondsPerMillionEvents)), 1),
    brokerCpuPercent: round(median(max.map((r) => r.brokerCpuPercent)), 1),
    leaderCpuShare: leaderShares.length > 0 ? round(median(leaderShares), 2) : null,
    machineBusyPercent: round(median(max.map((r) => r.machineBusyPercent)), 1),
    fixedRate: records.find((r) => r.subject === s.name && r.kind === 'fixed') ?? null,
  };
}

function printRun(r: RunRecord): void {
  out(
    `  ${r.subject.padEnd(14)} ${r.kind.padEnd(5)} ${String(r.batchesPerSecond).padStart(6)} batches/s ${String(r.eventsPerSecond).padStart(8)} events/s` +
      `  confirm p50 ${r.confirmP50Ms} ms p99 ${r.confirmP99Ms} ms  broker ${r.brokerCpuPercent} % (${r.brokerCpuSecondsPerMillionEvents} CPU-s/M events)` +
      `  machine ${r.machineBusyPercent} % busy, load ${r.loadAverage.before}→${r.loadAverage.after}` +
      (r.publishErrors.length > 0 ? `  errors: ${r.publishErrors.join('; ')}` : '') +
      (r.silentNodes.length > 0 ? `  no CPU used by ${r.silentNodes.join(', ')}` : ''),
  );
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'fanin-queue-bench-'));
  chmodSync(dir, 0o755); // the nodes run as the rabbitmq user, which must reach their data directories
  const rabbitVersion = (await run('rabbitmqctl', ['version'], 30_000).catch(() => 'unknown')).trim();
  const machine = {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    rabbitmq: rabbitVersion,
    os: `${os.type()} ${os.release()}`,
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    date: new Date().toISOString(),
    loadAverageAtStart: os.loadavg().map((v) => round(v, 2)),
  };
  out(
    `queue ceiling bench: ${machine.cores} × ${machine.cpuModel}, node ${machine.node}, RabbitMQ ${rabbitVersion}, load ${machine.loadAverageAtStart.join(' ')}`,
  );
  const clusters: PrivateRabbitCluster[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all(clusters.map((c) => c.destroy().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    out('interrupted: stopping the private nodes');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const newPools = Array.from({ length: cfg.publishers }, (_, p) =>
      faninBatchPool(`r${p + 1}`, POOL_BATCHES, cfg.batchBounds),
    );
    const cluster3 = await startSubject('cluster3-new', dir, 3, 'new', newPools);
    clusters.push(cluster3.cluster);
    const single = await startSubject('single-new', dir, 1, 'new', newPools);
    clusters.push(single.cluster);
    const subjects = [cluster3, single];
    if (cfg.sinkQueue) {
      const sinkPools = Array.from({ length: cfg.consumers }, (_, p) =>
        processedBatchPool(`r${p + 1}`, POOL_BATCHES, 2, cfg.batchBounds),
      );
      subjects.push(await startSubject('cluster3-sink', dir, 3, 'sink', sinkPools, cluster3.cluster));
    }
    if (cfg.compareBatchBytes > 0) {
      // The same brokers with bigger batches, in the same rounds: a comparison the machine's drift cannot skew.
      const bounds = { maxEvents: cfg.batchBounds.maxEvents, maxBytes: cfg.compareBatchBytes };
      const bigPools = Array.from({ length: cfg.publishers }, (_, p) =>
        faninBatchPool(`r${p + 1}`, POOL_BATCHES, bounds),
      );
      const suffix = `${Math.round(cfg.compareBatchBytes / 1024)}k`;
      subjects.push(await startSubject(`cluster3-new-${suffix}`, dir, 3, 'new', bigPools, cluster3.cluster));
      subjects.push(await startSubject(`single-new-${suffix}`, dir, 1, 'new', bigPools, single.cluster));
    }
    for (const s of subjects)
      out(`  ${s.name}: queue ${s.queue}, members ${s.members.length}, leader ${s.leader ?? '?'}`);

    const records: RunRecord[] = [];
    for (let i = 0; i < cfg.runs; i++) {
      // Alternate the order so that neither subject always runs right after the other.
      const order = i % 2 === 0 ? subjects : [...subjects].reverse();
      for (const s of order) {
        const r = await measure(s, 'max', 0, cfg.seconds);
        records.push(r);
        printRun(r);
      }
    }
    for (const s of subjects) {
      const rate =
        (median(records.filter((r) => r.subject === s.name).map((r) => r.batchesPerSecond)) * cfg.latencyPercent) / 100;
      const r = await measure(s, 'fixed', rate, cfg.latencySeconds);
      records.push(r);
      printRun(r);
    }

    const summaries = Object.fromEntries(
      subjects.map((s) => [s.name, { queue: s.queue, members: s.members, leader: s.leader, ...summarize(s, records) }]),
    );
    out('');
    out('median of the max runs:');
    for (const [name, sm] of Object.entries(summaries)) {
      out(
        `  ${name.padEnd(14)} ${sm.batchesPerSecond.median} batches/s (${sm.batchesPerSecond.min}–${sm.batchesPerSecond.max}), ` +
          `${sm.eventsPerSecond.median} events/s at ${sm.eventsPerBatch} events per ${sm.messageBytes}-byte batch; confirm p50 ${sm.confirmP50Ms} ms p99 ${sm.confirmP99Ms} ms; ` +
          `broker ${sm.brokerCpuSecondsPerMillionEvents} CPU-s per million events (${sm.brokerCpuPercent} % of one core, leader's share ${sm.leaderCpuShare ?? '?'}); ` +
          `at ${cfg.latencyPercent} %: confirm p50 ${sm.fixedRate?.confirmP50Ms ?? '?'} ms p99 ${sm.fixedRate?.confirmP99Ms ?? '?'} ms`,
      );
    }
    const loads = records.flatMap((r) => [r.loadAverage.before, r.loadAverage.after]);
    const notes = [
      `load average during the runs ${Math.min(...loads)}–${Math.max(...loads)} on ${machine.cores} cores (other jobs share the machine): medians of ${cfg.runs} runs; the bench's own publishers and consumers run on the same cores`,
    ];
    const report = JSON.stringify({ machine, config: cfg, summaries, runs: records, notes }, null, 2);
    writeFileSync(RESULTS, `${report}\n`);
    const history = join(
      dirname(RESULTS),
      'history',
      `${machine.date.slice(0, 16).replace(/[:T]/g, '-')}-queue-${cfg.label}.json`,
    );
    mkdirSync(dirname(history), { recursive: true });
    writeFileSync(history, `${report}\n`);
    out(`results: ${RESULTS} and ${history}`);
    return records.some((r) => r.publishErrors.length > 0) ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
