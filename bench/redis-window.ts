/**
 * `npm run bench:redis-window`: what the dedup window costs Redis once it is full (bench/lib/redis-window.ts) on its
 * own: bytes per unique event with keys expiring as fast as they are added, and Redis CPU per copy then and during
 * the first fill. `npm run bench` measures the same in its run. Runs its own redis-server; touches no shared Redis.
 * Prints the summary line and the whole result as JSON.
 *
 * Settings (environment): BENCH_WINDOW_SECONDS=20 BENCH_WINDOW_RATE=20000 (unique events/s)
 * BENCH_WINDOW_STEADY_SECONDS (the window's length unless set) BENCH_WINDOW_PORT (one the OS says is free unless set)
 * BENCH_WINDOW_REDIS_ARGS (more redis-server arguments, space-separated: `--active-expire-effort 4`, say).
 */
import { describeRedisWindow, measureRedisWindow, REDIS_WINDOW_DEFAULTS } from './lib/redis-window.js';

function envNumber(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: not a positive number: ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const windowSeconds = envNumber('BENCH_WINDOW_SECONDS', REDIS_WINDOW_DEFAULTS.windowSeconds)!;
  const uniquePerSecond = envNumber('BENCH_WINDOW_RATE', REDIS_WINDOW_DEFAULTS.uniquePerSecond)!;
  const steadySeconds = envNumber('BENCH_WINDOW_STEADY_SECONDS', undefined);
  const port = envNumber('BENCH_WINDOW_PORT', undefined);
  process.stdout.write(
    `redis window: private redis-server, ${uniquePerSecond} unique events/s at fan-out 2, window ${windowSeconds} s, ` +
      `first fill then steady from ${2 * windowSeconds} s\n`,
  );
  const redisArgs = (process.env.BENCH_WINDOW_REDIS_ARGS ?? '').split(' ').filter((a) => a !== '');
  const r = await measureRedisWindow({ windowSeconds, uniquePerSecond, steadySeconds, port, redisArgs });
  process.stdout.write(`${describeRedisWindow(r)}\n${JSON.stringify(r, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
