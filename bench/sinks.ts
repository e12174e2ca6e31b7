/**
 * `npm run bench:sinks`: events per second each sink writes, file and PostgreSQL side by side in one run.
 *
 * direct:   the sink's own `write` with realistic processed batches (RFC 5424 and Forward events, about 480 bytes
 *           of NDJSON each, BENCH_SINKS_BATCH_EVENTS per processed batch, BENCH_SINKS_WRITE_BATCHES batches per
 *           write as the uploader gathers them), one write at a time as the uploader does. Fresh ids every round,
 *           so PostgreSQL inserts; `postgres replay` writes batches it already holds (the ON CONFLICT path).
 * pipeline: the real uploader (runUploader, in this process) draining a backlog of processed batches from its
 *           sink queue on the real RabbitMQ into the sink: AMQP delivery, decode, write, ack. Throughput is events
 *           written (its own counter, scraped from /metrics) ÷ time from start to the last event.
 *
 * Rounds are interleaved (every case once per round, in a rotated order: the machine is noisy) and the table shows
 * medians. Writes bench/results/sinks-latest.json. Needs PostgreSQL (cases skipped if unreachable) and, for the
 * pipeline mode, RabbitMQ on 127.0.0.1; removes its tables, queues, exchanges and files afterwards.
 *
 * Settings (environment): BENCH_SINKS_ROUNDS=5 BENCH_SINKS_WRITES=20 BENCH_SINKS_WRITE_BATCHES=8
 * BENCH_SINKS_BATCH_EVENTS=250 BENCH_SINKS_PIPELINE=1 BENCH_SINKS_PIPELINE_ROUNDS=3 BENCH_SINKS_PIPELINE_BATCHES=200
 * BENCH_SINKS_CASES (comma-separated names to keep) BENCH_POSTGRES_URL BENCH_AMQP_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfirmPublisher } from '../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../shared/amqp/topology.js';
import { encodeProcessedBatch, type ProcessedBatch } from '../shared/batch-codec.js';
import { loadConfig } from '../shared/config/load-config.js';
import { FileSink } from '../uploader/file-sink/file-sink.js';
import { PostgresSink } from '../uploader/postgres-sink/postgres-sink.js';
import type { PostgresSinkOptions } from '../uploader/postgres-sink/postgres-sink-config.js';
import { runUploader } from '../uploader/run-uploader.js';
import type { Sink } from '../uploader/sink.js';
import { forwardEvent, processedBatch, syslogEvent } from '../testkit/sink-fixtures.js';
import { median } from './lib/bench-numbers.js';
import { deleteBrokerObjects } from './lib/cleanup.js';
import { freePorts } from './lib/ports.js';
import { parseCounter, scrapeText } from './lib/prom-histogram.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/sinks-latest.json', import.meta.url));

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return v;
}

const cfg = {
  rounds: Math.max(1, envInt('BENCH_SINKS_ROUNDS', 5)),
  writes: Math.max(1, envInt('BENCH_SINKS_WRITES', 20)),
  writeBatches: Math.max(1, envInt('BENCH_SINKS_WRITE_BATCHES', 8)),
  batchEvents: Math.max(1, envInt('BENCH_SINKS_BATCH_EVENTS', 250)),
  pipeline: process.env.BENCH_SINKS_PIPELINE !== '0',
  pipelineRounds: Math.max(1, envInt('BENCH_SINKS_PIPELINE_ROUNDS', 3)),
  pipelineBatches: Math.max(1, envInt('BENCH_SINKS_PIPELINE_BATCHES', 200)),
  cases: (process.env.BENCH_SINKS_CASES ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean),
  postgresUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

const out = (s: string) => process.stdout.write(s + '\n');
const silent = pino({ level: 'silent' });
const runId = randomBytes(4).toString('hex');
const cleanups: (() => Promise<unknown>)[] = [];

interface Sample {
  eventsPerSecond: number;
  writeP50Ms: number;
  cpuPercent: number;
}
interface CaseResult {
  name: string;
  mode: 'direct' | 'pipeline';
  samples: Sample[];
  median: Sample | null;
  note?: string;
}

interface DirectCase {
  readonly name: string;
  readonly sink: Sink;
  /** Batches for one round: fresh ids, or (replay) the ones already written. */
  batches(round: number): Promise<ProcessedBatch[]>;
}

const medianSample = (samples: Sample[]): Sample | null =>
  samples.length === 0
    ? null
    : {
        eventsPerSecond: median(samples.map((s) => s.eventsPerSecond)),
        writeP50Ms: median(samples.map((s) => s.writeP50Ms)),
        cpuPercent: median(samples.map((s) => s.cpuPercent)),
      };

/** One round's processed batches: a third Forward events with nested records, the rest syslog. */
function freshBatches(tag: string): ProcessedBatch[] {
  const now = Date.now();
  return Array.from({ length: cfg.writes * cfg.writeBatches }, (_, i) =>
    processedBatch(`${runId}-${tag}-${i}`, cfg.batchEvents, now, i % 3 === 2 ? forwardEvent : syslogEvent),
  );
}

async function timeWrites(sink: Sink, batches: ProcessedBatch[]): Promise<Sample> {
  const latencies: number[] = [];
  let events = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < batches.length; i += cfg.writeBatches) {
    const t = process.hrtime.bigint();
    const r = await sink.write(batches.slice(i, i + cfg.writeBatches));
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    events += r.written;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    eventsPerSecond: events / seconds,
    writeP50Ms: median(latencies),
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
}

async function postgresReachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: cfg.postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    const v = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    await c.end();
    return v;
  } catch {
    await c.end().catch(() => undefined);
    return null;
  }
}

async function dropTables(tables: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: cfg.postgresUrl });
  await c.connect();
  try {
    for (const t of tables) {
      await c.query(`DROP TABLE IF EXISTS "${t}" CASCADE`);
      await c.query(`DROP TABLE IF EXISTS "${t}_rejected"`);
      await c.query('DELETE FROM fanin_schema_migrations WHERE table_name = $1', [t]).catch(() => undefined);
    }
  } finally {
    await c.end();
  }
}

function postgresOptions(table: string, partitioning: 'none' | 'daily'): PostgresSinkOptions {
  return {
    name: table,
    url: cfg.postgresUrl,
    schema: 'public',
    table,
    partitioning,
    retentionDays: 0,
    recordIndex: false,
    poolSize: 2,
    connectTimeoutMs: 5000,
    statementTimeoutMs: 60_000,
    applicationName: 'fanin bench',
    maintenanceEveryMs: 0,
  };
}

function directCases(tmp: string, pgVersion: string | null, notes: string[]): DirectCase[] {
  const cases: DirectCase[] = [];
  const fresh = (name: string, sink: Sink) =>
    cases.push({ name, sink, batches: (round) => Promise.resolve(freshBatches(`${name}-${round}`)) });
  fresh('file fsync', new FileSink({ dir: join(tmp, 'file-fsync'), fsync: true }));
  fresh('file no fsync', new FileSink({ dir: join(tmp, 'file-nofsync'), fsync: false }));
  fresh(
    'file fsync gzip 16MiB',
    new FileSink({ dir: join(tmp, 'file-gzip'), fsync: true, gzip: true, maxBytes: 16 * 1024 * 1024 }),
  );
  if (pgVersion === null) {
    notes.push(`PostgreSQL unreachable at ${cfg.postgresUrl}: postgres cases skipped`);
  } else {
    const tables = ['plain', 'daily', 'replay'].map((k) => `bench_sinks_${runId}_${k}`);
    cleanups.push(() => dropTables(tables));
    fresh('postgres', new PostgresSink(postgresOptions(tables[0]!, 'none'), new Registry(), silent));
    fresh('postgres daily', new PostgresSink(postgresOptions(tables[1]!, 'daily'), new Registry(), silent));
    const replay = new PostgresSink(postgresOptions(tables[2]!, 'none'), new Registry(), silent);
    let held: ProcessedBatch[] | null = null;
    cases.push({
      name: 'postgres replay',
      sink: replay,
      batches: async () => {
        if (!held) {
          held = freshBatches('replay');
          for (let i = 0; i < held.length; i += cfg.writeBatches)
            await replay.write(held.slice(i, i + cfg.writeBatches));
        }
        return held;
      },
    });
  }
  return cfg.cases.length > 0 ? cases.filter((c) => cfg.cases.includes(c.name)) : cases;
}

/** The real uploader draining a backlog from its queue into one sink. */
async function pipelineRound(kind: 'file' | 'postgres', tmp: string, round: number): Promise<Sample> {
  const namespace = `bench-sinks-${runId}-${kind}-${round}`;
  const names = topologyNames(namespace);
  const sinkName = kind === 'file' ? 'file' : 'pg';
  const table = `bench_sinks_${runId}_pipe${round}`;
  cleanups.push(() =>
    deleteBrokerObjects(
      cfg.amqpUrl,
      [names.newQueue, names.deadQueue, names.sinkQueue(sinkName)],
      [names.newExchange, names.processedExchange, names.deadExchange],
    ),
  );
  if (kind === 'postgres') cleanups.push(() => dropTables([table]));
  const model = await connect(cfg.amqpUrl);
  const ch = await model.createChannel();
  await declareTopology(ch, fleetTopology(namespace, [sinkName]));
  await ch.close();
  const publisher = new ConfirmPublisher();
  await publisher.attach(model);
  const total = cfg.pipelineBatches * cfg.batchEvents;
  const now = Date.now();
  for (let i = 0; i < cfg.pipelineBatches; i++) {
    const b = processedBatch(
      `${runId}-pipe-${kind}-${round}-${i}`,
      cfg.batchEvents,
      now,
      i % 3 === 2 ? forwardEvent : syslogEvent,
    );
    await publisher.publish(names.processedExchange, encodeProcessedBatch(b), { messageId: b.sourceBatchId });
  }
  await publisher.close();
  await model.close();

  const [port] = await freePorts(1);
  const config = loadConfig({
    env: {
      FANIN_NAMESPACE: namespace,
      FANIN_AMQP_URL: cfg.amqpUrl,
      FANIN_LOG_LEVEL: 'warn',
      FANIN_METRICS_HOST: '127.0.0.1',
      FANIN_METRICS_PORT: String(port),
      FANIN_UPLOADER_SECONDARY_DIR: '',
      FANIN_SINKS: sinkName,
      FANIN_SINK_DEFINITIONS: JSON.stringify(
        kind === 'file'
          ? { file: { type: 'file', dir: join(tmp, `pipe-file-${round}`) } }
          : { pg: { type: 'postgres', url: cfg.postgresUrl, table } },
      ),
    },
  });
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const uploader = await runUploader(config);
  let written = 0;
  const deadline = Date.now() + 300_000;
  while (written < total && Date.now() < deadline) {
    await sleep(20);
    written = parseCounter(await scrapeText(`http://127.0.0.1:${port}/metrics`), 'fanin_uploader_events_written_total');
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await uploader.drain();
  if (written < total) throw new Error(`pipeline ${kind}: only ${written} of ${total} events written within 300 s`);
  return {
    eventsPerSecond: total / seconds,
    writeP50Ms: Number.NaN,
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
}

async function amqpReachable(): Promise<boolean> {
  try {
    const m = await connect(cfg.amqpUrl);
    await m.close();
    return true;
  } catch {
    return false;
  }
}

function table(results: CaseResult[]): void {
  const fmt = (n: number | undefined, digits = 0) =>
    n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
  out('');
  out(
    `${'sink'.padEnd(26)}${'mode'.padEnd(10)}${'events/s'.padStart(12)}${'min'.padStart(10)}${'max'.padStart(10)}${'write p50 ms'.padStart(14)}${'CPU %'.padStart(8)}`,
  );
  for (const r of results) {
    const rates = r.samples.map((s) => s.eventsPerSecond);
    out(
      `${r.name.padEnd(26)}${r.mode.padEnd(10)}${fmt(r.median?.eventsPerSecond).padStart(12)}${fmt(rates.length ? Math.min(...rates) : undefined).padStart(10)}` +
        `${fmt(rates.length ? Math.max(...rates) : undefined).padStart(10)}${fmt(r.median?.writeP50Ms, 1).padStart(14)}${fmt(r.median?.cpuPercent).padStart(8)}` +
        (r.note ? `  ${r.note}` : ''),
    );
  }
}

async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch((err: Error) => out(`cleanup: ${err.message}`));
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(os.tmpdir(), 'fanin-bench-sinks-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });
  const notes: string[] = [];
  const pgVersion = await postgresReachable();
  const eventsPerRound = cfg.writes * cfg.writeBatches * cfg.batchEvents;
  out(
    `fanin sink bench: ${cfg.rounds} rounds × ${eventsPerRound} events per case (writes of ${cfg.writeBatches} × ${cfg.batchEvents}); ` +
      `node ${process.version}, ${os.cpus().length} CPUs, PostgreSQL ${pgVersion ?? 'unreachable'}, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const loadBefore = os.loadavg()[0]!;
  const cases = directCases(tmp, pgVersion, notes);
  for (const c of cases) cleanups.push(() => c.sink.close());
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  // Warm-up: one small write each (JIT, connections, migrations), not counted.
  for (const c of cases) await c.sink.write([processedBatch(`${runId}-warm-${c.name}`, cfg.batchEvents, Date.now())]);
  for (let round = 0; round < cfg.rounds; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
    for (const c of order) {
      const s = await timeWrites(c.sink, await c.batches(round));
      samples.get(c.name)!.push(s);
      out(`  round ${round + 1}/${cfg.rounds} ${c.name.padEnd(24)} ${Math.round(s.eventsPerSecond)} events/s`);
    }
  }
  const results: CaseResult[] = cases.map((c) => ({
    name: c.name,
    mode: 'direct',
    samples: samples.get(c.name)!,
    median: medianSample(samples.get(c.name)!),
  }));

  if (cfg.pipeline && !(await amqpReachable()))
    notes.push(`RabbitMQ unreachable at ${cfg.amqpUrl}: pipeline mode skipped`);
  else if (cfg.pipeline) {
    const kinds: ('file' | 'postgres')[] = pgVersion === null ? ['file'] : ['file', 'postgres'];
    const pipe = new Map<string, Sample[]>(kinds.map((k) => [k, []]));
    for (let round = 0; round < cfg.pipelineRounds; round++) {
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        const s = await pipelineRound(kind, tmp, round);
        pipe.get(kind)!.push(s);
        out(
          `  pipeline round ${round + 1}/${cfg.pipelineRounds} ${kind.padEnd(10)} ${Math.round(s.eventsPerSecond)} events/s`,
        );
      }
    }
    for (const kind of kinds) {
      results.push({
        name: kind === 'file' ? 'file fsync (uploader)' : 'postgres (uploader)',
        mode: 'pipeline',
        samples: pipe.get(kind)!,
        median: medianSample(pipe.get(kind)!),
        note: `${cfg.pipelineBatches * cfg.batchEvents} events backlog`,
      });
    }
  }
  table(results);
  const load = { before: loadBefore, after: os.loadavg()[0]! };
  // Our CPU % low while the load is high means other processes had the cores: the figures are then lower bounds.
  if (Math.max(load.before, load.after) > os.cpus().length)
    notes.push(
      `load average ${load.before.toFixed(1)} → ${load.after.toFixed(1)} on ${os.cpus().length} CPUs: other work shared the machine`,
    );
  for (const n of notes) out(`note: ${n}`);
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        when: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        postgres: pgVersion,
        settings: cfg,
        eventsPerRound,
        loadAverage: load,
        results,
        notes,
      },
      null,
      2,
    ) + '\n',
  );
  out(`\nwrote ${RESULTS}`);
}

try {
  await main();
} finally {
  await cleanup();
}
