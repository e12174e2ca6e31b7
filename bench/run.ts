/**
 * `npm run bench`: fanin against the naive per-event design, side by side in one run (the machine is noisy).
 *
 * For each mode: start the pipeline as child processes, wait for every /readyz, warm up, then
 *   max:      drive both receivers with the same lines (fan-out 2, octet-counted TCP) as fast as the pipeline
 *             sustains end to end (closed loop: at most BENCH_MAX_BACKLOG lines sent but not landed) for BENCH_SECONDS;
 *   latency:  the same at a fixed fraction of the measured max (BENCH_LATENCY_FRACTION) for BENCH_LATENCY_SECONDS.
 * Then the worker curve (fanin again with each of BENCH_WORKER_CURVE workers, max phase only, BENCH_CURVE_SECONDS)
 * and Redis's own ceiling for the dedup script (bench/lib/redis-ceiling.ts, BENCH_CEILING_SECONDS, batches of the
 * size the pipeline made), and the dedup stage alone (bench/lib/dedup-stage.ts: fanin workers draining a backlog of
 * such batches, BENCH_STAGE_COPIES copies in all), so the stage is reported as a share of that ceiling. After the
 * ceiling, what the window costs Redis once it is full (bench/lib/redis-window.ts, on a private redis-server): bytes
 * per unique event with keys expiring as fast as they are added, and Redis CPU per copy then and during the first fill.
 * The sink files are followed line by line: unique events landed, lost and duplicated sequence numbers, repeated ids.
 * Latency quantiles come from the uploader's end-to-end histogram (difference of two scrapes), RSS and CPU from /proc
 * (also as CPU seconds per million unique events), Redis memory per unique event from INFO used_memory.
 * Prints a table and writes bench/results/latest.json and bench/results/history/<time>-<BENCH_LABEL>.json; removes
 * the namespace's queues, exchanges and Redis keys. BENCH_CPU_PROF=<dir>: every fanin process writes a CPU profile.
 *
 * Settings (environment): BENCH_SECONDS=60 BENCH_WARMUP_SECONDS=3 BENCH_LATENCY_SECONDS=10 BENCH_LATENCY_FRACTION=0.5
 * BENCH_LATENCY_RATE (lines/s; same fixed rate for every mode instead of a fraction of each one's max)
 * BENCH_STREAMS=2 BENCH_MAX_BACKLOG=20000 BENCH_DRAIN_SECONDS=60 BENCH_MODES=fanin,naive BENCH_NAIVE_QUEUE_TYPE=quorum
 * BENCH_NAIVE_MAX_UNCONFIRMED=1000 BENCH_NAIVE_PREFETCH=500 BENCH_NAIVE_FSYNC=0 BENCH_WORKERS=2 BENCH_WORKER_CURVE=1,4
 * BENCH_CURVE_SECONDS=15 BENCH_CEILING_SECONDS=8 BENCH_STAGE_COPIES=1000000 BENCH_LABEL=run BENCH_CPU_PROF BENCH_AMQP_URL BENCH_REDIS_URL.
 * The full window: BENCH_WINDOW_SECONDS=20 (0 skips it) BENCH_WINDOW_RATE=20000 (unique events/s)
 * BENCH_WINDOW_STEADY_SECONDS (the window's length unless set) BENCH_WINDOW_PORT (one the OS says is free unless set).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { FleetLauncher } from '../cli/fleet/fleet-launcher.js';
import { freeFleetOffset } from '../cli/fleet/free-offset.js';
import { localFleet } from '../cli/fleet/local-layout.js';
import { nodeFlags } from '../cli/fleet/member-command.js';
import { waitForFleet } from '../cli/fleet/readiness.js';
import { redactUrl } from '../shared/amqp/broker-endpoints.js';
import { runLoad, type LoadResult, type LoadTarget } from './fanout-load.js';
import { deleteBrokerObjects, deleteRedisKeys, QueueProbe, queueDepths } from './lib/cleanup.js';
import { measureDedupStage, type DedupStageResult } from './lib/dedup-stage.js';
import { measureRedisCeiling, type RedisCeilingResult } from './lib/redis-ceiling.js';
import {
  describeRedisWindow,
  measureRedisWindow,
  REDIS_WINDOW_DEFAULTS,
  type RedisWindowResult,
} from './lib/redis-window.js';
import { freePorts } from './lib/ports.js';
import { cpuPercent, ProcSampler, serverPids, type TrackedProcess } from './lib/proc.js';
import {
  diffHistogram,
  histogramQuantile,
  parseCounter,
  parseHistogram,
  scrapeHistogram,
  scrapeText,
  sumHistograms,
  type PromHistogram,
} from './lib/prom-histogram.js';
import { SinkTail } from './lib/sink-tail.js';
import { NAIVE_LATENCY_METRIC, naiveQueues } from './naive/naive-pipeline.js';

const NAIVE_ENTRY = fileURLToPath(new URL('./naive/naive-pipeline.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
const FANIN_LATENCY_METRIC = 'fanin_uploader_end_to_end_latency_seconds';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a non-negative number: ${raw}`);
  return n;
}

const cfg = {
  seconds: envNumber('BENCH_SECONDS', 60),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 3),
  latencySeconds: Math.min(envNumber('BENCH_LATENCY_SECONDS', 10), 60),
  latencyFraction: envNumber('BENCH_LATENCY_FRACTION', 0.5),
  /** When set (lines/s), the fixed-rate phase of every mode runs at this rate instead of a fraction of its own max. */
  latencyRate: envNumber('BENCH_LATENCY_RATE', 0),
  streams: Math.max(1, Math.floor(envNumber('BENCH_STREAMS', 2))),
  maxBacklog: envNumber('BENCH_MAX_BACKLOG', 20000),
  drainSeconds: envNumber('BENCH_DRAIN_SECONDS', 60),
  modes: (process.env.BENCH_MODES ?? 'fanin,naive')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m === 'fanin' || m === 'naive'),
  naiveQueueType: process.env.BENCH_NAIVE_QUEUE_TYPE ?? 'quorum',
  naiveMaxUnconfirmed: Math.max(1, envNumber('BENCH_NAIVE_MAX_UNCONFIRMED', 1000)),
  naivePrefetch: Math.max(1, envNumber('BENCH_NAIVE_PREFETCH', 500)),
  naiveFsync: process.env.BENCH_NAIVE_FSYNC === '1',
  amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  workers: Math.max(1, Math.floor(envNumber('BENCH_WORKERS', 2))),
  cpuProfDir: process.env.BENCH_CPU_PROF ?? '',
  /** Extra fanin runs (max phase only) with these worker counts, for the scaling curve; '' for none. */
  workerCurve: (process.env.BENCH_WORKER_CURVE ?? '1,4')
    .split(',')
    .map((w) => Number(w.trim()))
    .filter((w) => Number.isInteger(w) && w >= 1),
  curveSeconds: envNumber('BENCH_CURVE_SECONDS', 15),
  ceilingSeconds: envNumber('BENCH_CEILING_SECONDS', 8),
  stageCopies: Math.max(2, Math.floor(envNumber('BENCH_STAGE_COPIES', 1_000_000))),
  windowSeconds: envNumber('BENCH_WINDOW_SECONDS', REDIS_WINDOW_DEFAULTS.windowSeconds),
  windowRate: envNumber('BENCH_WINDOW_RATE', REDIS_WINDOW_DEFAULTS.uniquePerSecond),
  /** 0: as long as the window. */
  windowSteadySeconds: envNumber('BENCH_WINDOW_STEADY_SECONDS', 0),
  /** 0: a port the OS says is free. */
  windowPort: Math.floor(envNumber('BENCH_WINDOW_PORT', 0)),
  label: (process.env.BENCH_LABEL ?? 'run').replace(/[^A-Za-z0-9_.-]/g, '-'),
};

type Mode = 'fanin' | 'naive';

interface Pipeline {
  readonly mode: Mode;
  readonly targets: readonly LoadTarget[];
  readonly sink: SinkTail;
  readonly latencyUrl: string;
  readonly latencyMetric: string;
  readonly procs: readonly TrackedProcess[];
  /** The receivers' /metrics and their counter of copies taken in. */
  readonly receiverMetrics: { readonly urls: readonly string[]; readonly receivedCounter: string };
  /** Stage histograms worth reporting per phase (summed over the listed processes). */
  readonly diagnostics: readonly { readonly name: string; readonly urls: readonly string[]; readonly metric: string }[];
  /** The queues between the stages, in flow order (sampled during each phase). */
  readonly queues: readonly string[];
  readonly logPath: string;
  stop(): Promise<void>;
}

interface PhaseResult {
  readonly phase: string;
  /** Lines per second asked of the sender; 0 = as fast as the pipeline sustains. */
  readonly targetRate: number;
  readonly lines: number;
  readonly copies: number;
  readonly uniqueLanded: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  readonly complete: boolean;
  readonly sendSeconds: number;
  readonly endToEndSeconds: number;
  readonly uniquePerSecond: number;
  /** Copies the receivers took in (their counters) per second of the phase window: 2 × unique when none is lost. */
  readonly copiesPerSecond: number;
  /** Copies the sender wrote per second of sending (includes what waited in socket buffers). */
  readonly offeredCopiesPerSecond: number;
  readonly copiesReceived: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  readonly meanMs: number | null;
  readonly latencySamples: number;
  readonly backlogWaitMs: number;
  readonly drainWaitMs: number;
  readonly senderErrors: number;
  /** % of one core per process over the phase (first send to last line landed). */
  readonly cpuPercent: Record<string, number>;
  /** CPU seconds each process spent per million unique events landed in the phase ('total': all of them). */
  readonly cpuSecondsPerMillion: Record<string, number>;
  /** Messages waiting in each queue between the stages, sampled every 500 ms over the phase. */
  readonly queueDepth: Record<string, { max: number; mean: number }>;
  /** Stage histograms over the phase: quantiles and mean (milliseconds for *_seconds metrics). */
  readonly stages: Record<string, { p50: number | null; p99: number | null; mean: number | null; count: number }>;
}

interface ModeResult {
  readonly mode: Mode;
  readonly workers: number;
  /** Redis used_memory growth over the run ÷ unique events it landed (their keys are all still in the window). */
  readonly redisBytesPerUniqueEvent: number | null;
  readonly warmup: PhaseResult;
  readonly max: PhaseResult;
  readonly latency: PhaseResult | null;
  readonly maxRssMiB: Record<string, number>;
  readonly sinkCheck: {
    lines: number;
    foreignLines: number;
    repeatedIds: number;
    missingIds: number;
    otherFiles: string[];
  };
  readonly topSnapshot: string;
  readonly notes: string[];
}

const out = (s: string) => process.stdout.write(s + '\n');

// ---------------------------------------------------------------------------------------------------------------
// Process handling

const started = new Set<ChildProcess>();

function spawnLogged(args: string[], env: NodeJS.ProcessEnv, logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, wait (bounded), then SIGKILL — always by pid, never by name. */
async function terminate(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const clean = await exited(child, timeoutMs);
  if (!clean) child.kill('SIGKILL');
  return clean;
}

async function waitReady(
  urls: readonly string[],
  children: readonly ChildProcess[],
  timeoutMs: number,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(urls);
  while (pending.size > 0) {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`a process exited before ready (${c.exitCode ?? c.signalCode}); log:\n${tail(logPath)}`);
    }
    if (Date.now() > deadline)
      throw new Error(`not ready after ${timeoutMs} ms: ${[...pending].join(', ')}; log:\n${tail(logPath)}`);
    for (const url of [...pending]) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) pending.delete(url);
        await res.body?.cancel();
      } catch {
        /* not listening yet */
      }
    }
    if (pending.size > 0) await sleep(200);
  }
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The two pipelines

async function startFanin(ns: string, tmp: string, runId: string, workers: number): Promise<Pipeline> {
  const syslog = [5514, 5515];
  const workerPorts = Array.from({ length: workers }, (_, i) => 9611 + i);
  // The fleet of `fanin up` (its layout, Node flags and launcher), without its TLS port and restarts.
  const layout = (offset: number) => localFleet(offset, '127.0.0.1', null, workers);
  const offset = await freeFleetOffset(layout, { min: 20000, max: 40000, hosts: ['127.0.0.1', '0.0.0.0'] });
  const members = layout(offset);
  const sinkDir = join(tmp, `fanin-out-${runId}`);
  const logPath = join(tmp, `fanin-${runId}.log`);
  // BENCH_CPU_PROF: every fleet member writes a V8 CPU profile there when it exits.
  const profile = cfg.cpuProfDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', cfg.cpuProfDir];
  if (process.env.BENCH_NODE_FLAGS) profile.push(...process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean));
  const exitedEarly = new AbortController();
  const fleet = new FleetLauncher(members, {
    nodeArgs: nodeFlags(profile),
    baseEnv: {
      ...process.env,
      FANIN_NAMESPACE: ns,
      FANIN_UPLOADER_FILE_SINK_DIR: sinkDir,
      FANIN_LOG_LEVEL: 'warn',
      FANIN_AMQP_URL: cfg.amqpUrl,
      FANIN_REDIS_URL: cfg.redisUrl,
    },
    output: { logFile: logPath },
    onExit: (exit) => {
      if (!exit.expected) exitedEarly.abort(new Error(`${exit.name} exited (${exit.signal ?? `code ${exit.code}`})`));
    },
  });
  fleet.start();
  const notReady = await waitForFleet(members, '127.0.0.1', '127.0.0.1', 30_000, exitedEarly.signal);
  if (exitedEarly.signal.aborted || notReady.length > 0) {
    await fleet.stop(10_000);
    const why = exitedEarly.signal.aborted
      ? (exitedEarly.signal.reason as Error).message
      : `not ready after 30 s: ${notReady.join('; ')}`;
    throw new Error(`${why}; log:\n${tail(logPath)}`);
  }
  const metrics = (port: number) => `http://127.0.0.1:${port + offset}`;
  const procs: TrackedProcess[] = fleet.members.map((m) => {
    const env = m.current.env;
    return {
      label: `${m.current.role}-${env.FANIN_RECEIVER_ID ?? env.FANIN_WORKER_ID ?? env.FANIN_UPLOADER_ID}`,
      pid: m.pid!,
    };
  });
  procs.sort((a, b) => a.label.localeCompare(b.label));
  const sink = new SinkTail(sinkDir, runId, (f) => f.startsWith('events.') && f.endsWith('.ndjson'));
  return {
    mode: 'fanin',
    targets: syslog.map((p) => ({ host: '127.0.0.1', port: p + offset })),
    sink,
    logPath,
    procs,
    queues: [`${ns}.new`, `${ns}.sink.file`],
    receiverMetrics: {
      urls: [9601, 9602].map((p) => `${metrics(p)}/metrics`),
      receivedCounter: 'fanin_receiver_events_received_total',
    },
    diagnostics: [
      {
        name: 'receiver confirm ms',
        urls: [9601, 9602].map((p) => `${metrics(p)}/metrics`),
        metric: 'fanin_receiver_confirm_latency_seconds',
      },
      {
        name: 'receiver events/batch',
        urls: [9601, 9602].map((p) => `${metrics(p)}/metrics`),
        metric: 'fanin_receiver_batch_events',
      },
      {
        name: 'worker batch ms',
        urls: workerPorts.map((p) => `${metrics(p)}/metrics`),
        metric: 'fanin_worker_batch_seconds',
      },
      {
        name: 'worker redis script ms',
        urls: workerPorts.map((p) => `${metrics(p)}/metrics`),
        metric: 'fanin_worker_redis_script_seconds',
      },
      { name: 'uploader write ms', urls: [`${metrics(9621)}/metrics`], metric: 'fanin_uploader_write_seconds' },
    ],
    latencyUrl: `${metrics(9621)}/metrics`,
    latencyMetric: FANIN_LATENCY_METRIC,
    stop: async () => {
      const killed = await fleet.stop(25_000);
      if (killed.length > 0) out(`  ${killed.join(', ')} did not stop within 25 s: killed; log:\n${tail(logPath, 10)}`);
    },
  };
}

async function startNaive(ns: string, tmp: string, runId: string): Promise<Pipeline> {
  const [portA, portB, opsA, opsB, opsD1, opsD2, opsU] = (await freePorts(7)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const sinkDir = join(tmp, 'naive-out');
  mkdirSync(sinkDir, { recursive: true });
  const logPath = join(tmp, 'naive.log');
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    NAIVE_NAMESPACE: ns,
    NAIVE_AMQP_URL: cfg.amqpUrl,
    NAIVE_REDIS_URL: cfg.redisUrl,
    NAIVE_QUEUE_TYPE: cfg.naiveQueueType,
    NAIVE_MAX_UNCONFIRMED: String(cfg.naiveMaxUnconfirmed),
    NAIVE_PREFETCH: String(cfg.naivePrefetch),
    NAIVE_FSYNC: cfg.naiveFsync ? '1' : '0',
    NAIVE_OUT_FILE: join(sinkDir, 'events.ndjson'),
  };
  const members: { label: string; role: string; env: Record<string, string>; ops: number }[] = [
    { label: 'uploader', role: 'uploader', env: { NAIVE_ID: 'u1' }, ops: opsU },
    { label: 'dedup-1', role: 'dedup', env: { NAIVE_ID: 'd1' }, ops: opsD1 },
    { label: 'dedup-2', role: 'dedup', env: { NAIVE_ID: 'd2' }, ops: opsD2 },
    { label: 'receiver-a', role: 'receiver', env: { NAIVE_ID: 'a', NAIVE_PORT: String(portA) }, ops: opsA },
    { label: 'receiver-b', role: 'receiver', env: { NAIVE_ID: 'b', NAIVE_PORT: String(portB) }, ops: opsB },
  ];
  const children: ChildProcess[] = [];
  const procs: TrackedProcess[] = [];
  for (const m of members) {
    // The uploader first, so the queues exist before anything is published (each process declares both anyway).
    const child = spawnLogged([NAIVE_ENTRY, m.role], { ...base, ...m.env, NAIVE_OPS_PORT: String(m.ops) }, logPath);
    children.push(child);
    procs.push({ label: m.label, pid: child.pid! });
  }
  await waitReady(
    members.map((m) => `http://127.0.0.1:${m.ops}/readyz`),
    children,
    30_000,
    logPath,
  );
  procs.sort((a, b) => a.label.localeCompare(b.label));
  return {
    mode: 'naive',
    targets: [
      { host: '127.0.0.1', port: portA },
      { host: '127.0.0.1', port: portB },
    ],
    sink: new SinkTail(sinkDir, runId, (f) => f === 'events.ndjson'),
    logPath,
    procs,
    queues: [naiveQueues(ns).incoming, naiveQueues(ns).processed],
    receiverMetrics: {
      urls: [opsA, opsB].map((p) => `http://127.0.0.1:${p}/metrics`),
      receivedCounter: 'naive_receiver_events_received_total',
    },
    diagnostics: [],
    latencyUrl: `http://127.0.0.1:${opsU}/metrics`,
    latencyMetric: NAIVE_LATENCY_METRIC,
    stop: async () => {
      // Receivers first, then the consumers, like a drain.
      for (const c of [...children].reverse()) {
        const clean = await terminate(c, 12_000);
        if (!clean) out(`  naive pid ${c.pid} did not stop within 12 s: killed`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

async function waitLanded(sink: SinkTail, phase: string, expected: number, hardMs: number): Promise<boolean> {
  const deadline = Date.now() + hardMs;
  let last = -1;
  let lastProgress = Date.now();
  for (;;) {
    await sink.poll();
    const got = sink.tally(phase).distinct;
    if (got >= expected) return true;
    if (got !== last) {
      last = got;
      lastProgress = Date.now();
    }
    // Nothing new for 15 s: what is missing is not coming.
    if (Date.now() > deadline || Date.now() - lastProgress > 15_000) return false;
    await sleep(100);
  }
}

async function scrape(p: Pipeline): Promise<PromHistogram> {
  return scrapeHistogram(p.latencyUrl, p.latencyMetric);
}

async function receivedCopies(p: Pipeline): Promise<number> {
  const texts = await Promise.all(p.receiverMetrics.urls.map(scrapeText));
  return texts.reduce((sum, t) => sum + parseCounter(t, p.receiverMetrics.receivedCounter), 0);
}

async function scrapeStages(p: Pipeline): Promise<Map<string, PromHistogram>> {
  const out = new Map<string, PromHistogram>();
  for (const d of p.diagnostics) {
    const texts = await Promise.all(d.urls.map(scrapeText));
    out.set(d.name, sumHistograms(texts.map((t) => parseHistogram(t, d.metric))));
  }
  return out;
}

function topSnapshot(): Promise<string> {
  return new Promise((resolve) => {
    execFile('top', ['-b', '-n1', '-w', '200'], { timeout: 5000 }, (err, stdout) => {
      resolve(err ? `top failed: ${err.message}` : stdout.split('\n').slice(0, 22).join('\n'));
    });
  });
}

async function runPhase(
  p: Pipeline,
  runId: string,
  phase: string,
  seconds: number,
  rate: number,
  samplers: readonly ProcSampler[],
  probe: QueueProbe,
  onMidway?: () => void,
): Promise<PhaseResult> {
  const before = await scrape(p);
  const received0 = await receivedCopies(p);
  const stages0 = await scrapeStages(p);
  probe.reset();
  const cpu0 = samplers.map((s) => s.cpuSnapshot());
  const t0 = Date.now();
  const tally = p.sink.tally(phase);
  const midway = onMidway ? setTimeout(onMidway, (seconds * 1000) / 2) : null;
  const load: LoadResult = await runLoad({
    targets: p.targets,
    streams: cfg.streams,
    runId,
    phase,
    durationMs: seconds * 1000,
    rate,
    backlog: cfg.maxBacklog > 0 ? { limit: cfg.maxBacklog, landed: () => tally.distinct } : undefined,
  });
  if (midway) clearTimeout(midway);
  if (load.errors.length > 0)
    out(`  ${p.mode} ${phase}: sender socket errors: ${[...new Set(load.errors)].join('; ')}`);
  const complete = await waitLanded(p.sink, phase, load.lines, cfg.drainSeconds * 1000);
  const t1 = complete ? tally.lastLandedMs : Date.now();
  const cpu1 = samplers.map((s) => s.cpuSnapshot());
  const cpuSeconds = (Date.now() - t0) / 1000;
  const after = await scrape(p);
  const received1 = await receivedCopies(p);
  const stages1 = await scrapeStages(p);
  const h = diffHistogram(after, before);
  const cpu: Record<string, number> = {};
  samplers.forEach((_, i) => Object.assign(cpu, cpuPercent(cpu0[i]!, cpu1[i]!, cpuSeconds)));
  const sendSeconds = Math.max(0.001, (load.lastSendMs - load.firstSendMs) / 1000);
  const e2e = Math.max(0.001, ((complete ? tally.lastLandedMs : t1) - load.firstSendMs) / 1000);
  const q = (x: number) => {
    const v = histogramQuantile(h, x);
    return v === null ? null : Math.round(v * 10000) / 10;
  };
  return {
    phase,
    targetRate: rate,
    lines: load.lines,
    copies: load.copies,
    uniqueLanded: tally.distinct,
    lost: tally.missing(load.sentPerStream),
    duplicated: tally.duplicated,
    unexpected: tally.beyond(load.sentPerStream),
    complete,
    sendSeconds: round(sendSeconds, 2),
    endToEndSeconds: round(e2e, 2),
    uniquePerSecond: Math.round(tally.distinct / e2e),
    copiesReceived: received1 - received0,
    copiesPerSecond: Math.round((received1 - received0) / e2e),
    offeredCopiesPerSecond: Math.round(load.copies / sendSeconds),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    p999Ms: q(0.999),
    meanMs: h.count > 0 ? round((h.sum / h.count) * 1000, 1) : null,
    latencySamples: h.count,
    backlogWaitMs: load.backlogWaitMs,
    drainWaitMs: load.drainWaitMs,
    senderErrors: load.errors.length,
    cpuPercent: cpu,
    cpuSecondsPerMillion: perMillion(cpu, cpuSeconds, tally.distinct),
    queueDepth: probe.summary(),
    stages: Object.fromEntries(
      [...stages1].map(([name, h1]) => {
        const d = diffHistogram(h1, stages0.get(name) ?? h1);
        const ms = p.diagnostics.find((x) => x.name === name)?.metric.endsWith('_seconds') ? 1000 : 1;
        const v = (x: number | null) => (x === null ? null : round(x * ms, 1));
        return [
          name,
          {
            p50: v(histogramQuantile(d, 0.5)),
            p99: v(histogramQuantile(d, 0.99)),
            mean: d.count > 0 ? v(d.sum / d.count) : null,
            count: d.count,
          },
        ];
      }),
    ),
  };
}

function perMillion(cpu: Record<string, number>, seconds: number, events: number): Record<string, number> {
  if (events === 0) return {};
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, percent] of Object.entries(cpu)) {
    const v = ((percent / 100) * seconds * 1e6) / events;
    total += v;
    out[name] = round(v, 1);
  }
  out.total = round(total, 1);
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface MeasureOptions {
  readonly workers: number;
  readonly maxSeconds: number;
  /** Also the fixed-rate phase (latency outside saturation); the worker curve measures the max only. */
  readonly withLatency: boolean;
}

async function redisUsedMemory(redis: Redis): Promise<number | null> {
  const m = /^used_memory:(\d+)/m.exec(await redis.info('memory').catch(() => ''));
  return m ? Number(m[1]) : null;
}

async function measure(p: Pipeline, runId: string, o: MeasureOptions): Promise<ModeResult> {
  const redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: 1 });
  const memoryBefore = await redisUsedMemory(redis);
  const sampler = new ProcSampler();
  sampler.track(p.procs);
  sampler.start(250);
  const infra = new ProcSampler();
  infra.track([
    ...serverPids(cfg.amqpUrl, 5672, 'beam.smp').map((pid) => ({ label: 'rabbitmq', pid })),
    ...serverPids(cfg.redisUrl, 6379, 'redis-server').map((pid) => ({ label: 'redis', pid })),
    { label: 'bench-driver', pid: process.pid },
  ]);
  p.sink.start(100);
  const probe = new QueueProbe(cfg.amqpUrl, p.queues);
  await probe.start(500);
  const notes: string[] = [];
  let top = '';
  try {
    out(`  ${p.mode}: warm-up ${cfg.warmupSeconds} s`);
    const warmup = await runPhase(p, runId, 'w', cfg.warmupSeconds, 0, [sampler, infra], probe);
    if (!warmup.complete) notes.push(`warm-up incomplete: ${warmup.lost} lines not landed`);
    out(`  ${p.mode}: max rate ${o.maxSeconds} s (${o.workers} workers)`);
    const max = await runPhase(p, runId, 'm', o.maxSeconds, 0, [sampler, infra], probe, () => {
      void topSnapshot().then((t) => {
        top = t;
      });
    });
    out(
      `  ${p.mode}: ${max.uniquePerSecond} unique events/s, p50 ${max.p50Ms} ms, p99 ${max.p99Ms} ms, lost ${max.lost}, duplicated ${max.duplicated}`,
    );
    let latency: PhaseResult | null = null;
    if (o.withLatency && cfg.latencySeconds > 0 && max.uniquePerSecond > 0) {
      const rate =
        cfg.latencyRate > 0 ? cfg.latencyRate : Math.max(10, Math.round(max.uniquePerSecond * cfg.latencyFraction));
      out(`  ${p.mode}: fixed rate ${rate} lines/s for ${cfg.latencySeconds} s`);
      latency = await runPhase(p, runId, 'l', cfg.latencySeconds, rate, [sampler, infra], probe);
      out(`  ${p.mode}: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms at ${latency.uniquePerSecond} events/s`);
    }
    await p.sink.poll();
    const sinkCheck = {
      lines: p.sink.lines,
      foreignLines: p.sink.foreign,
      repeatedIds: p.sink.repeatedIds,
      missingIds: p.sink.missingIds,
      otherFiles: await p.sink.otherFiles(),
    };
    const memoryAfter = await redisUsedMemory(redis);
    const landed = warmup.uniqueLanded + max.uniqueLanded + (latency?.uniqueLanded ?? 0);
    const redisBytesPerUniqueEvent =
      memoryBefore === null || memoryAfter === null || landed === 0
        ? null
        : Math.round((memoryAfter - memoryBefore) / landed);
    return {
      mode: p.mode,
      workers: o.workers,
      redisBytesPerUniqueEvent,
      warmup,
      max,
      latency,
      maxRssMiB: sampler.maxRssMiB(),
      sinkCheck,
      topSnapshot: top,
      notes,
    };
  } finally {
    redis.disconnect();
    sampler.stop();
    await probe.stop();
    await p.sink.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function fmt(n: number | null, width: number): string {
  return (n === null ? '-' : String(n)).padStart(width);
}

function printSummary(results: readonly ModeResult[]): void {
  out('');
  out(
    'mode    phase        target/s  unique ev/s   copies/s   p50 ms   p99 ms  p999 ms   lost    dup  e2e s  complete',
  );
  for (const r of results) {
    for (const ph of [r.max, r.latency]) {
      if (!ph) continue;
      const name =
        ph.phase === 'm'
          ? 'max'
          : cfg.latencyRate > 0
            ? 'fixed rate'
            : `${Math.round(cfg.latencyFraction * 100)}% of max`;
      out(
        `${r.mode.padEnd(7)} ${name.padEnd(11)} ${(ph.targetRate === 0 ? 'max' : String(ph.targetRate)).padStart(9)} ${fmt(ph.uniquePerSecond, 12)} ${fmt(ph.copiesPerSecond, 10)} ${fmt(ph.p50Ms, 8)} ${fmt(ph.p99Ms, 8)} ${fmt(ph.p999Ms, 8)} ${fmt(ph.lost, 6)} ${fmt(ph.duplicated, 6)} ${fmt(ph.endToEndSeconds, 6)}  ${ph.complete ? 'yes' : 'NO'}`,
      );
    }
  }
  out('');
  out('max RSS (MiB) per process:');
  for (const r of results)
    out(
      `  ${r.mode.padEnd(6)} ${Object.entries(r.maxRssMiB)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  out('CPU during the max phase (% of one core; the machine has ' + os.cpus().length + ' cores):');
  for (const r of results)
    out(
      `  ${r.mode.padEnd(6)} ${Object.entries(r.max.cpuPercent)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  out('CPU seconds per million unique events during the max phase:');
  for (const r of results)
    out(
      `  ${r.mode.padEnd(6)} ${Object.entries(r.max.cpuSecondsPerMillion)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  out(
    'Redis memory per unique event in the window (used_memory growth ÷ unique events landed): ' +
      results.map((r) => `${r.mode} ${r.redisBytesPerUniqueEvent ?? '-'} bytes`).join(', '),
  );
  out('queue depth during the max phase (mean / max messages; fanin messages are batches):');
  for (const r of results)
    out(
      `  ${r.mode.padEnd(6)} ${Object.entries(r.max.queueDepth)
        .map(([q, d]) => `${q} ${d.mean} / ${d.max}`)
        .join(', ')}`,
    );
  for (const r of results) {
    for (const ph of [r.max, r.latency]) {
      if (!ph || Object.keys(ph.stages).length === 0) continue;
      out(`${r.mode} stages during the ${ph.phase === 'm' ? 'max' : 'fixed-rate'} phase (p50 / p99 / mean):`);
      for (const [name, st] of Object.entries(ph.stages))
        out(`  ${name.padEnd(24)} ${st.p50} / ${st.p99} / ${st.mean}  (${st.count} observations)`);
    }
  }
  for (const r of results) {
    const problems = [...r.notes];
    if (r.sinkCheck.foreignLines > 0) problems.push(`${r.sinkCheck.foreignLines} sink lines without this run's marker`);
    if (r.sinkCheck.repeatedIds > 0) problems.push(`${r.sinkCheck.repeatedIds} ids appear more than once`);
    if (r.sinkCheck.missingIds > 0) problems.push(`${r.sinkCheck.missingIds} lines without an id`);
    if (r.sinkCheck.otherFiles.length > 0) problems.push(`other sink files: ${r.sinkCheck.otherFiles.join(', ')}`);
    for (const ph of [r.warmup, r.max, r.latency])
      if (ph && ph.unexpected > 0)
        problems.push(`phase ${ph.phase}: ${ph.unexpected} lines with sequence numbers never sent`);
    if (problems.length > 0) out(`  ${r.mode} problems: ${problems.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const ns = `bench-${randomBytes(4).toString('hex')}`;
  const runId = randomBytes(4).toString('hex');
  const tmp = await mkdtemp(join(os.tmpdir(), 'fanin-bench-'));
  const machine = {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    date: new Date().toISOString(),
  };
  out(`fanin bench: namespace ${ns}, ${machine.cores} × ${machine.cpuModel}, node ${machine.node}`);
  out(
    `  ${cfg.seconds} s per max run (+${cfg.warmupSeconds} s warm-up), ${cfg.latencySeconds} s at ${cfg.latencyFraction} of max, ${cfg.streams} sender streams × 2 receivers, backlog bound ${cfg.maxBacklog}`,
  );

  let active: Pipeline | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (active) await active.stop().catch(() => undefined);
    await Promise.all([...started].map((c) => terminate(c, 15_000)));
    const nq = naiveQueues(ns);
    const queues = [`${ns}.new`, `${ns}.sink.file`, `${ns}.dead`, nq.incoming, nq.processed];
    const depths = await queueDepths(cfg.amqpUrl, queues).catch(() => ({}));
    const left = Object.entries(depths).filter(([, n]) => typeof n === 'number' && n > 0);
    if (left.length > 0) out(`  messages left in queues: ${left.map(([q, n]) => `${q} ${n}`).join(', ')}`);
    const problems = await deleteBrokerObjects(cfg.amqpUrl, queues, [
      `${ns}.new`,
      `${ns}.processed`,
      `${ns}.dead`,
    ]).catch((e: Error) => [e.message]);
    const sns = `${ns}-stage`;
    problems.push(
      ...(await deleteBrokerObjects(
        cfg.amqpUrl,
        [`${sns}.new`, `${sns}.sink.file`, `${sns}.dead`],
        [`${sns}.new`, `${sns}.processed`, `${sns}.dead`],
      ).catch((e: Error) => [e.message])),
    );
    if (problems.length > 0) out(`  broker cleanup: ${problems.join('; ')}`);
    const keys =
      (await deleteRedisKeys(cfg.redisUrl, `${ns}:`).catch(() => -1)) +
      (await deleteRedisKeys(cfg.redisUrl, `${sns}:`).catch(() => 0));
    out(`  cleaned up: queues and exchanges of ${ns}, ${keys} Redis keys, ${tmp}`);
    await rm(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    out('interrupted: stopping and cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: ModeResult[] = [];
  const curve: ModeResult[] = [];
  let ceiling: RedisCeilingResult | null = null;
  let redisWindow: RedisWindowResult | null = null;
  let stage: DedupStageResult | null = null;
  const run = async (mode: Mode, workers: number, o: MeasureOptions, id: string) => {
    out(`${mode}: starting${mode === 'fanin' ? ` with ${workers} workers` : ''}`);
    active = mode === 'fanin' ? await startFanin(ns, tmp, id, workers) : await startNaive(ns, tmp, id);
    out(`  ${mode}: ready (${active.procs.map((p) => `${p.label}=${p.pid}`).join(' ')})`);
    try {
      return await measure(active, id, o);
    } finally {
      out(`  ${mode}: stopping`);
      const p = active;
      active = null;
      await p.stop();
    }
  };
  try {
    for (const mode of cfg.modes as Mode[]) {
      results.push(
        await run(mode, cfg.workers, { workers: cfg.workers, maxSeconds: cfg.seconds, withLatency: true }, runId),
      );
    }
    if (cfg.modes.includes('fanin')) {
      // Each curve run has its own run id (hex, as the sink tail reads it) and sink directory: its lines must not be
      // taken for repeats of the main run's.
      for (const workers of cfg.workerCurve.filter((w) => w !== cfg.workers)) {
        const id = `${runId}${workers.toString(16).padStart(2, '0')}`;
        curve.push(await run('fanin', workers, { workers, maxSeconds: cfg.curveSeconds, withLatency: false }, id));
      }
      const perBatch = results.find((r) => r.mode === 'fanin')?.max.stages['receiver events/batch']?.mean;
      const batchEvents = Math.max(1, Math.round(perBatch ?? 1000));
      // The runs above leave millions of keys in their window. Inserting past a power-of-two key count makes Redis
      // double its table and rehash every key while it serves, which cost 2-3x the CPU per copy for the whole loop
      // (4M keys in Redis: 7.0-8.5 µs per copy against 3.0-3.1 empty; with 5M keys whose table had already grown:
      // 2.6-4.2). A steady window (as many keys expiring as added) never grows its table, so measure the ceiling and
      // the stage each from the same empty keyspace, like for like, rather than from wherever the runs left it.
      await deleteRedisKeys(cfg.redisUrl, `${ns}:`);
      out(
        `redis ceiling: the dedup script alone, ${batchEvents} events per batch, ${cfg.workers} connections × prefetch, ${cfg.ceilingSeconds} s`,
      );
      ceiling = await measureRedisCeiling({
        redisUrl: cfg.redisUrl,
        namespace: `${ns}:ceiling`,
        seconds: cfg.ceilingSeconds,
        batchEvents,
        connections: cfg.workers,
        concurrency: 16,
        windowSeconds: 600,
      });
      out(
        `  ${ceiling.copiesPerSecond} copies/s (${ceiling.uniquePerSecond} unique/s), Redis ${ceiling.redisCpuPercent}% CPU, ${ceiling.redisCpuMicrosPerCopy} µs/copy, ${ceiling.bytesPerUniqueEvent} bytes per unique event`,
      );
      await deleteRedisKeys(cfg.redisUrl, `${ns}:ceiling:`);
      if (cfg.windowSeconds > 0) {
        out(
          `redis window: private redis-server, ${cfg.windowRate} unique events/s at fan-out 2, window ${cfg.windowSeconds} s, first fill then steady from ${2 * cfg.windowSeconds} s`,
        );
        redisWindow = await measureRedisWindow({
          windowSeconds: cfg.windowSeconds,
          uniquePerSecond: cfg.windowRate,
          ...(cfg.windowSteadySeconds > 0 ? { steadySeconds: cfg.windowSteadySeconds } : {}),
          ...(cfg.windowPort > 0 ? { port: cfg.windowPort } : {}),
        });
        out(describeRedisWindow(redisWindow));
      }
      const batchPairs = Math.max(1, Math.round(cfg.stageCopies / (2 * batchEvents)));
      out(
        `dedup stage alone: ${cfg.workers} fanin workers draining ${2 * batchPairs} batches of ${batchEvents} events (fan-out 2) through RabbitMQ and Redis`,
      );
      stage = await measureDedupStage({
        amqpUrl: cfg.amqpUrl,
        redisUrl: cfg.redisUrl,
        namespace: `${ns}-stage`,
        workers: cfg.workers,
        batchPairs,
        batchEvents,
      });
      out(
        `  ${stage.copiesPerSecond} copies/s (${stage.uniquePerSecond} unique/s) in ${stage.seconds} s; CPU ${Object.entries(
          stage.cpuPercent,
        )
          .map(([k, v]) => `${k} ${v}%`)
          .join(', ')}`,
      );
    }
  } finally {
    await cleanup();
  }

  printSummary(results);
  const fanin = results.find((r) => r.mode === 'fanin');
  const naive = results.find((r) => r.mode === 'naive');
  const ratio =
    fanin && naive && naive.max.uniquePerSecond > 0
      ? round(fanin.max.uniquePerSecond / naive.max.uniquePerSecond, 1)
      : null;
  if (ratio !== null) out(`\nfanin / naive, unique events/s at max: ${ratio}×`);
  const workerCurve = [...(fanin ? [fanin] : []), ...curve]
    .sort((a, b) => a.workers - b.workers)
    .map((r) => ({
      workers: r.workers,
      uniquePerSecond: r.max.uniquePerSecond,
      copiesPerSecond: r.max.copiesPerSecond,
      lost: r.max.lost,
      duplicated: r.max.duplicated,
      cpuPercent: r.max.cpuPercent,
    }));
  if (workerCurve.length > 1) {
    out(
      'worker curve (max phase): ' + workerCurve.map((w) => `${w.workers} → ${w.uniquePerSecond} unique/s`).join(', '),
    );
  }
  const pipelineShareOfCeiling =
    fanin && ceiling && ceiling.copiesPerSecond > 0
      ? round(fanin.max.copiesPerSecond / ceiling.copiesPerSecond, 2)
      : null;
  const dedupStageShareOfCeiling =
    stage && ceiling && ceiling.copiesPerSecond > 0 ? round(stage.copiesPerSecond / ceiling.copiesPerSecond, 2) : null;
  if (ceiling) {
    out(
      `Redis ceiling for the dedup script: ${ceiling.copiesPerSecond} copies/s; the dedup stage alone: ${stage?.copiesPerSecond ?? '-'} copies/s = ${dedupStageShareOfCeiling === null ? '-' : Math.round(dedupStageShareOfCeiling * 100)}%;` +
        ` the whole pipeline at max: ${fanin?.max.copiesPerSecond ?? '-'} copies/s = ${pipelineShareOfCeiling === null ? '-' : Math.round(pipelineShareOfCeiling * 100)}%`,
    );
  }
  mkdirSync(dirname(RESULTS), { recursive: true });
  const config = { ...cfg, amqpUrl: redactUrl(cfg.amqpUrl), redisUrl: redactUrl(cfg.redisUrl) };
  const report =
    JSON.stringify(
      {
        machine,
        config,
        namespace: ns,
        runId,
        ratio,
        redisCeiling: ceiling,
        redisWindow,
        dedupStage: stage,
        dedupStageShareOfCeiling,
        pipelineShareOfCeiling,
        workerCurve,
        results,
        curve,
      },
      null,
      2,
    ) + '\n';
  writeFileSync(RESULTS, report);
  // The history keeps one file per run worth keeping (commit it with the change it measured): the trend over time.
  const history = join(
    dirname(RESULTS),
    'history',
    `${machine.date.slice(0, 16).replace(/[:T]/g, '-')}-${cfg.label}.json`,
  );
  mkdirSync(dirname(history), { recursive: true });
  writeFileSync(history, report);
  out(`results: ${RESULTS} and ${history}`);
  const bad = [...results, ...curve].some(
    (r) => !r.max.complete || r.max.lost > 0 || r.max.duplicated > 0 || r.sinkCheck.repeatedIds > 0,
  );
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
