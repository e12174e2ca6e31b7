/**
 * `npm run bench:redis`: Redis's own ceiling for the dedup script (bench/lib/redis-ceiling.ts) on its own, for
 * tuning the script and the batch size. `npm run bench` measures the same ceiling in its run, beside the pipeline.
 *
 * Settings (environment): BENCH_REDIS_SECONDS=5 BENCH_REDIS_BATCH_EVENTS=500,1000 BENCH_REDIS_CONNECTIONS=2
 * BENCH_REDIS_CONCURRENCY=8 BENCH_REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { deleteRedisKeys } from './lib/cleanup.js';
import { measureRedisCeiling } from './lib/redis-ceiling.js';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const redisUrl = env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379');

async function main(): Promise<void> {
  for (const batchEvents of env('BENCH_REDIS_BATCH_EVENTS', '500,1000').split(',').map(Number)) {
    const namespace = `bench-redis-${randomBytes(4).toString('hex')}`;
    try {
      const r = await measureRedisCeiling({
        redisUrl,
        namespace,
        seconds: Number(env('BENCH_REDIS_SECONDS', '5')),
        batchEvents,
        connections: Number(env('BENCH_REDIS_CONNECTIONS', '2')),
        concurrency: Number(env('BENCH_REDIS_CONCURRENCY', '8')),
        windowSeconds: 600,
      });
      process.stdout.write(`batch ${batchEvents}: ${JSON.stringify(r)}\n`);
    } finally {
      await deleteRedisKeys(redisUrl, `${namespace}:`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
