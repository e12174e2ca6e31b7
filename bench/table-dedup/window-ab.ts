/**
 * PROTOTYPE FOR MEASUREMENT: the product's per-event DedupStore against the packed-table prototype
 * (bench/table-dedup/table-store.ts) with the dedup window full, alternately on ONE private redis-server (FLUSHALL
 * between runs), each run the window bench of bench/lib/redis-window.ts (first fill, then steady from two windows on).
 *
 * `npm run build && node dist/bench/table-dedup/window-ab.js`. Settings (environment):
 * BENCH_TABLE_PORT (required: a private port), BENCH_WINDOW_SECONDS=20, BENCH_TABLE_RATES=10000,20000 (unique
 * events/s), BENCH_TABLE_ROUNDS=3, BENCH_TABLE_DESIGNS=per-event,table-string-8,table-hash-15 (table-<layout>-<slots per
 * bucket>),
 * BENCH_TABLE_LOAD=0.5 (the table's load factor at the offered rate), BENCH_TABLE_OUT (a JSON file for the results).
 * Each round runs the designs in turn, in the reverse order every other round.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { PrivateRedis } from '../../chaos/private-redis.js';
import { measureRedisWindow, type RedisWindowResult, type WindowStore } from '../lib/redis-window.js';
import { TableDedupStore, tableBucketBytes, tableBuckets, type TableLayout, type TableStats } from './table-store.js';

/**
 * "per-event", "table-<layout>-<slots per bucket>" (table-string-8, table-hash-15), or "none": every copy decided
 * unique without Redis, so Redis's CPU is only what the run costs it anyway (its cron, the INFO samples, the batch
 * records' markPublished HSET), the floor under every design's figure.
 */
type Design = string;

function tableDesign(design: Design): { layout: TableLayout; slots: number } | null {
  const m = /^table-(string|hash)-(\d+)$/.exec(design);
  if (design === 'per-event' || design === 'none') return null;
  if (!m) throw new Error(`BENCH_TABLE_DESIGNS: unknown design ${design}`);
  return { layout: m[1] as TableLayout, slots: Number(m[2]) };
}

interface RunRecord {
  readonly round: number;
  readonly design: Design;
  readonly uniquePerSecond: number;
  readonly startedAt: string;
  readonly table?: {
    layout: TableLayout;
    slots: number;
    buckets: number;
    bytes: number;
    loadFactor: number;
    stats: TableStats;
  };
  readonly result: Omit<RedisWindowResult, 'timeline'>;
}

function env(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

async function main(): Promise<void> {
  const port = Number(env('BENCH_TABLE_PORT', ''));
  if (!(port >= 1)) throw new Error('BENCH_TABLE_PORT: a private port is required');
  const windowSeconds = Number(env('BENCH_WINDOW_SECONDS', '20'));
  const rates = env('BENCH_TABLE_RATES', '10000,20000').split(',').map(Number);
  const rounds = Number(env('BENCH_TABLE_ROUNDS', '3'));
  const designs = env('BENCH_TABLE_DESIGNS', 'per-event,table-string-8,table-hash-15').split(',');
  designs.forEach(tableDesign);
  const loadFactor = Number(env('BENCH_TABLE_LOAD', '0.5'));
  const out = process.env.BENCH_TABLE_OUT;
  const windowMs = windowSeconds * 1000;

  const dir = await mkdtemp(join(os.tmpdir(), 'fanin-table-ab-'));
  const server = await PrivateRedis.create(dir, port);
  const runs: RunRecord[] = [];
  const save = () => {
    if (out !== undefined)
      writeFileSync(out, `${JSON.stringify({ windowSeconds, rates, rounds, designs, loadFactor, runs }, null, 2)}\n`);
  };
  try {
    await server.start();
    for (let round = 1; round <= rounds; round++) {
      for (const uniquePerSecond of rates) {
        const order = round % 2 === 1 ? designs : [...designs].reverse();
        for (const design of order) {
          const t = tableDesign(design);
          const slots = t?.slots ?? 8;
          const buckets = tableBuckets(uniquePerSecond, windowMs, 1, slots, loadFactor);
          const tables: TableDedupStore[] = [];
          const makeStore =
            design === 'none'
              ? () => noRedisStore
              : t === null
                ? undefined
                : (client: Redis) => {
                    const store = new TableDedupStore(client, {
                      namespace: 'bench-window',
                      partitions: 1,
                      windowMs,
                      buckets,
                      slots,
                      layout: t.layout,
                    });
                    tables.push(store);
                    return store as WindowStore;
                  };
          const startedAt = new Date().toISOString();
          const full = await measureRedisWindow({
            windowSeconds,
            uniquePerSecond,
            url: server.url,
            makeStore,
          });
          // The timeline (a sample a second) stays out of the A/B file: the phase figures are what it compares.
          const { timeline, ...result } = full;
          void timeline;
          const stats = sumStats(tables.map((t) => t.stats));
          runs.push({
            round,
            design,
            uniquePerSecond,
            startedAt,
            ...(t === null
              ? {}
              : {
                  table: {
                    layout: t.layout,
                    slots,
                    buckets,
                    bytes: buckets * tableBucketBytes(slots),
                    loadFactor,
                    stats,
                  },
                }),
            result,
          });
          save();
          process.stdout.write(`${line(runs[runs.length - 1]!)}\n`);
        }
      }
    }
  } finally {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

const noRedisStore: WindowStore = {
  decide: (batch) =>
    Promise.resolve([
      {
        partition: 0,
        indices: batch.bodies.map((_, i) => i),
        occurrences: batch.bodies.map(() => 1),
        reused: false,
        published: false,
        chunkResends: 0,
      },
    ]),
  markPublished: () => Promise.resolve(),
};

function sumStats(all: readonly TableStats[]): TableStats {
  const total: TableStats = {
    tableHits: 0,
    tableInserts: 0,
    migrations: 0,
    bucketFull: 0,
    untagged: 0,
    keyChecks: 0,
    perEventKeyCopies: 0,
  };
  for (const s of all) for (const k of Object.keys(total) as (keyof TableStats)[]) total[k] += s[k];
  return total;
}

function line(r: RunRecord): string {
  const f = r.result;
  const fallback =
    r.table === undefined
      ? ''
      : ` per-event-key copies ${r.table.stats.perEventKeyCopies} (bucket full ${r.table.stats.bucketFull}, ` +
        `migrations ${r.table.stats.migrations})`;
  return (
    `round ${r.round} ${r.design} @${r.uniquePerSecond}/s: ${f.steady.bytesPerUniqueEvent} B/event, ` +
    `µs/copy fill ${f.firstFill.redisCpuMicrosPerCopy} steady ${f.steady.redisCpuMicrosPerCopy}, ` +
    `calls/copy fill ${f.firstFill.redisCallsPerCopy} steady ${f.steady.redisCallsPerCopy}, ` +
    `sustained ${f.sustained}, batch ${f.batchEvents} events${fallback}`
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
