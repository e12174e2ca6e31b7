/**
 * `npm run bench:worker -- [<dist> …]` (or `node dist/bench/worker-stage.js …`): the dedup worker's own CPU per
 * event copy, in one process, without the pipeline. New-event batches are made the way receivers make them (the
 * bench's syslog lines keyed and packed by encodeSyslogFrame, sealed by the EventBatcher with fanin's default bounds,
 * encoded with route keys like receiver/batch-publisher.ts), every batch once from receiver a and once from receiver
 * b (fan-out 2), and handed to a real BatchDecider as deliveries: decode, the dedup script on the shared Redis (a
 * real DedupStore under a namespace of its own, deleted afterwards), selection, encoding of the processed batch,
 * metrics, mark published, ack. The broker is left out: the publisher resolves at once and deliveries settle into
 * nothing, so amqplib's framing and copying are not counted. CPU is this process's (user + system, GC threads
 * included); Redis's own CPU is not.
 *
 * With several builds (each a compiled `dist` directory, e.g. an older commit's made with `git worktree add` and
 * `npm run build` there; default: this one), they take turns in the same process: in each of BENCH_WS_ROUNDS rounds
 * every build decides BENCH_WS_SLICES slices of BENCH_WS_PAIRS batch pairs, the order alternating, so all see the
 * same moments of a shared machine. It prints each build's ns per copy (median over rounds) and, per round, the
 * ratio of each build's figure to the first's (median, min, max). One warm-up round is not counted. Before timing,
 * every build decides the same batches under its own namespace, and the processed batches it publishes and the
 * Redis keys it leaves are compared: builds that differ are reported.
 *
 * Settings (environment): BENCH_WS_ROUNDS=10 BENCH_WS_SLICES=4 BENCH_WS_PAIRS=20 BENCH_WS_INFLIGHT=8 (deliveries in
 * flight at once, like the worker's prefetch), BENCH_WS_REDIS=redis://127.0.0.1:6379, BENCH_WS_CPU_PROF=<file>: a V8
 * CPU profile of the timed slices alone (the making of batches and the Redis clean-up cut out), for DevTools.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { BatchDecider as BatchDeciderClass } from '../dedup-worker/batch-decider.js';
import type { DedupStore as DedupStoreClass } from '../dedup-worker/dedup-store.js';
import type { createWorkerMetrics as CreateWorkerMetrics } from '../dedup-worker/worker-metrics.js';
import type { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import type { Delivery as DeliveryClass } from '../shared/amqp/queue-consumer.js';
import { encodeNewEventBatch } from '../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../shared/event-key.js';
import { settings } from '../shared/config/settings.js';
import { EventBatcher, type SealedBatch } from '../receiver/event-batcher.js';
import { encodeSyslogFrame } from '../receiver/syslog-event.js';
import { median, positiveIntSetting } from './lib/bench-numbers.js';
import { benchLine } from './fanout-load.js';

const ROUNDS = positiveIntSetting('BENCH_WS_ROUNDS', 10);
const SLICES = positiveIntSetting('BENCH_WS_SLICES', 4);
const PAIRS = positiveIntSetting('BENCH_WS_PAIRS', 20);
const INFLIGHT = positiveIntSetting('BENCH_WS_INFLIGHT', 8);
const REDIS_URL = process.env.BENCH_WS_REDIS ?? 'redis://127.0.0.1:6379';
const WINDOW_SECONDS = 300;
const CPU_PROF = process.env.BENCH_WS_CPU_PROF;
// A full collection after making each round's batches, so their garbage is not collected inside the timed slices.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const THIS_DIST = fileURLToPath(new URL('..', import.meta.url));

interface WorkerParts {
  BatchDecider: typeof BatchDeciderClass;
  DedupStore: typeof DedupStoreClass;
  createWorkerMetrics: typeof CreateWorkerMetrics;
  Delivery: typeof DeliveryClass;
}

async function loadBuild(dist: string): Promise<WorkerParts> {
  const load = async (path: string) =>
    (await import(pathToFileURL(resolve(dist, path)).href)) as Record<string, unknown>;
  return {
    BatchDecider: (await load('dedup-worker/batch-decider.js')).BatchDecider as typeof BatchDeciderClass,
    DedupStore: (await load('dedup-worker/dedup-store.js')).DedupStore as typeof DedupStoreClass,
    createWorkerMetrics: (await load('dedup-worker/worker-metrics.js'))
      .createWorkerMetrics as typeof CreateWorkerMetrics,
    Delivery: (await load('shared/amqp/queue-consumer.js')).Delivery as typeof DeliveryClass,
  };
}

/** One build wired as a worker: its own Redis connection, namespace, metrics and a publisher that confirms at once. */
interface Build {
  readonly dist: string;
  readonly namespace: string;
  readonly redis: Redis;
  readonly decider: BatchDeciderClass;
  readonly parts: WorkerParts;
  /** What the publisher was handed, when recording (the comparison before timing). */
  recorded: { messageId: string; content: Buffer }[] | null;
  copies: number;
  cpuMicros: number;
  failures: number;
}

const silent = pino({ level: 'silent' });

async function wireBuild(dist: string, index: number): Promise<Build> {
  const parts = await loadBuild(dist);
  const namespace = `wstage-${randomBytes(4).toString('hex')}-${index}`;
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
  const store = new parts.DedupStore(redis, { namespace, partitions: 1, windowMs: WINDOW_SECONDS * 1000 });
  const metrics = parts.createWorkerMetrics(new Registry());
  const build: Build = {
    dist,
    namespace,
    redis,
    parts,
    recorded: null,
    copies: 0,
    cpuMicros: 0,
    failures: 0,
    decider: null as unknown as BatchDeciderClass,
  };
  const publisher = {
    ready: true,
    publish: (_exchange: string, content: Buffer, o: { messageId: string }) => {
      build.recorded?.push({ messageId: o.messageId, content });
      return Promise.resolve();
    },
  } as unknown as ConfirmPublisher;
  (build as { decider: BatchDeciderClass }).decider = new parts.BatchDecider(
    { processedExchange: `${namespace}.processed`, redisDownMode: 'hold', dedupWindowSeconds: WINDOW_SECONDS },
    {
      store,
      publisher,
      metrics,
      log: silent,
      onRedisFailed: () => {
        build.failures++;
      },
    },
  );
  return build;
}

/** Settles into nothing, like a consumer whose channel takes every ack. */
const settler = {
  settle: () => undefined,
  isLive: () => true,
  deadLetter: () => Promise.resolve(),
};

/** A batch pair's template: what receivers a and b sealed for the same lines (the keys are replaced per use). */
interface Template {
  readonly a: SealedBatch;
  readonly b: SealedBatch;
}

function sealAll(receiverId: string, frames: readonly Buffer[], now: Date): SealedBatch[] {
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher(
    {
      maxEvents: settings.batchMaxEvents.default,
      maxBytes: settings.batchMaxBytes.default,
      maxDelayMs: settings.batchMaxDelayMs.default,
    },
    (b) => sealed.push(b),
  );
  const ctx = { receiverId, source: '192.0.2.10', transport: 'tcp' as const, hashSourceAddress: true };
  for (const frame of frames) {
    const e = encodeSyslogFrame(frame, ctx, now);
    batcher.add(e.key, e.body, e.route);
  }
  batcher.flush();
  return sealed.slice(0, -1); // the last one is partial: under load every batch is sealed by a bound
}

function templates(count: number): Template[] {
  const runId = randomBytes(4).toString('hex');
  const now = new Date();
  // Enough lines for `count` full batches at the default bounds (about 500 bench lines per 128 KiB).
  const frames = Array.from({ length: (count + 1) * 600 }, (_, seq) =>
    Buffer.from(benchLine(runId, 'w', 0, seq, now.toISOString())),
  );
  const a = sealAll('a', frames, now);
  const b = sealAll('b', frames, now);
  return a.slice(0, count).map((sa, i) => ({ a: sa, b: b[i]! }));
}

/** Both receivers' batches for one template with fresh keys (new events), as the AMQP message bodies. */
function freshPair(t: Template, bootId: string, seq: number, keys = randomBytes(t.a.bodies.length * EVENT_KEY_BYTES)) {
  const encode = (receiverId: string, s: SealedBatch) =>
    encodeNewEventBatch({ receiverId, bootId, seq, keys, bodies: s.bodies, chunks: s.chunks, routes: s.routes });
  return [encode('a', t.a), encode('b', t.b)];
}

async function decideAll(build: Build, payloads: readonly Buffer[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) {
      const content = payloads[next++]!;
      const message = { content, fields: {}, properties: {} } as unknown as ConsumeMessage;
      await build.decider.handle(new build.parts.Delivery(message, {} as Channel, settler));
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
}

/** The timed stretches, in the CPU profile's clock (µs, monotonic): only they are kept in BENCH_WS_CPU_PROF. */
const timedWindows: [number, number][] = [];

async function timedSlice(build: Build, payloads: readonly Buffer[], copies: number): Promise<void> {
  const started = Number(process.hrtime.bigint() / 1000n);
  const cpu0 = process.cpuUsage();
  await decideAll(build, payloads);
  const cpu = process.cpuUsage(cpu0);
  timedWindows.push([started, Number(process.hrtime.bigint() / 1000n)]);
  build.cpuMicros += cpu.user + cpu.system;
  build.copies += copies;
}

/** A V8 CPU profile's samples within the timed windows alone (the batches' making and Redis clean-up left out). */
function keepTimedSamples(profile: Profiler.Profile): Profiler.Profile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let t = profile.startTime;
  let last = profile.startTime;
  let w = 0;
  profile.samples!.forEach((id, i) => {
    t += profile.timeDeltas![i]!;
    while (w < timedWindows.length && timedWindows[w]![1] < t) w++;
    if (w === timedWindows.length || t < timedWindows[w]![0]) return;
    samples.push(id);
    timeDeltas.push(samples.length === 1 ? 0 : Math.min(t - last, 1000));
    last = t;
  });
  return { ...profile, samples, timeDeltas, endTime: profile.startTime + timeDeltas.reduce((s, d) => s + d, 0) };
}

/** Every key of a namespace with its value, the namespace cut off, for comparing what two builds left in Redis. */
async function redisState(redis: Redis, namespace: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
    cursor = nextCursor;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'hash' ? JSON.stringify(Object.entries(await redis.hgetall(key)).sort()) : await redis.get(key);
      out.set(key.slice(namespace.length), `${type}:${value}`);
    }
  } while (cursor !== '0');
  return out;
}

async function dropNamespace(redis: Redis, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 2000);
    cursor = nextCursor;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Every build decides the same batches (a redelivery of one included); their outputs must be the same bytes. */
async function compareBuilds(builds: readonly Build[], pool: readonly Template[]): Promise<string[]> {
  const bootId = randomBytes(4).toString('hex');
  const payloads = pool.slice(0, 4).flatMap((t, seq) => freshPair(t, bootId, seq));
  payloads.push(payloads[0]!, payloads[3]!); // redelivered: decisions reused, republished or already published
  const outputs: { published: string; redis: Map<string, string> }[] = [];
  for (const build of builds) {
    build.recorded = [];
    for (const p of payloads) await decideAll(build, [p]); // one at a time: the same order for every build
    const published = build.recorded.map((r) => `${r.messageId}:${r.content.toString('hex')}`).join('\n');
    build.recorded = null;
    outputs.push({ published, redis: await redisState(build.redis, build.namespace) });
  }
  const problems: string[] = [];
  outputs.forEach((o, i) => {
    if (i === 0) return;
    if (o.published !== outputs[0]!.published) problems.push(`${builds[i]!.dist}: published batches differ`);
    const a = [...outputs[0]!.redis].sort().join('\n');
    const b = [...o.redis].sort().join('\n');
    if (a !== b) problems.push(`${builds[i]!.dist}: Redis keys differ`);
  });
  if (outputs[0]!.published === '') problems.push('nothing was published');
  return problems;
}

const dists = process.argv.length > 2 ? process.argv.slice(2) : [THIS_DIST];
const builds: Build[] = [];
for (const [i, dist] of dists.entries()) builds.push(await wireBuild(dist, i));
const pool = templates(PAIRS);
const eventsPerPair = pool.reduce((s, t) => s + t.a.bodies.length, 0) / pool.length;
try {
  const problems = await compareBuilds(builds, pool);
  for (const p of problems) console.log(`DIFFERENT: ${p}`);
  if (problems.length === 0 && builds.length > 1) console.log('outputs identical (published batches, Redis keys)');

  const profiler = CPU_PROF === undefined ? null : new Session();
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
  }
  const bootId = randomBytes(4).toString('hex');
  let seq = 1000;
  const copiesPerSlice = pool.reduce((s, t) => s + t.a.bodies.length + t.b.bodies.length, 0);
  const perRound: number[][] = builds.map(() => []);
  for (let round = 0; round <= ROUNDS; round++) {
    for (const b of builds) {
      b.copies = 0;
      b.cpuMicros = 0;
    }
    // Made before the round's timed slices, so that the making is not timed (its garbage may be collected in them).
    const slices = Array.from({ length: SLICES * builds.length }, () =>
      pool.flatMap((t) => freshPair(t, bootId, seq++)),
    );
    collectGarbage();
    for (let slice = 0; slice < SLICES; slice++) {
      const order = (round + slice) % 2 === 0 ? builds : [...builds].reverse();
      for (const b of order) await timedSlice(b, slices.pop()!, copiesPerSlice);
    }
    if (round > 0) builds.forEach((b, i) => perRound[i]!.push((b.cpuMicros * 1000) / b.copies));
    for (const b of builds) await dropNamespace(b.redis, b.namespace);
  }
  if (profiler && CPU_PROF !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(CPU_PROF, JSON.stringify(keepTimedSamples(profile)));
    profiler.disconnect();
  }
  console.log(
    `${ROUNDS} rounds × ${SLICES} slices × ${PAIRS} batch pairs (${eventsPerPair.toFixed(0)} events per batch), ` +
      `${INFLIGHT} in flight`,
  );
  builds.forEach((b, i) => {
    const ns = perRound[i]!;
    const line = `${b.dist}: ${median(ns).toFixed(0)} ns per copy (min ${Math.min(...ns).toFixed(0)}, max ${Math.max(...ns).toFixed(0)})`;
    if (i === 0) {
      console.log(line);
      return;
    }
    const ratios = ns.map((v, r) => v / perRound[0]![r]!);
    console.log(
      `${line}; ratio to the first: median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, ` +
        `max ${Math.max(...ratios).toFixed(3)})`,
    );
  });
  const failures = builds.reduce((s, b) => s + b.failures, 0);
  if (failures > 0) console.log(`${failures} batches failed their script`);
} finally {
  for (const b of builds) {
    await dropNamespace(b.redis, b.namespace);
    b.redis.disconnect();
  }
}
