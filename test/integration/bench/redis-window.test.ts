import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { measureRedisWindow } from '../../../bench/lib/redis-window.js';

/**
 * The window bench end to end on its own private redis-server, shrunk to seconds: a 1 s window (steady from 2 s to
 * 3 s) at a low rate. The figures must be real measurements: positive, finite, and in the range a dedup key's size
 * allows, with keys expiring during the steady phase. BENCH_WINDOW_PORT keeps the server on a port of your choosing.
 */
describe('bench: Redis with the dedup window full', () => {
  it('measures bytes per unique event and CPU per copy in both phases', { timeout: 60_000 }, async () => {
    const port = process.env.BENCH_WINDOW_PORT ? Number(process.env.BENCH_WINDOW_PORT) : undefined;
    const r = await measureRedisWindow({ windowSeconds: 1, uniquePerSecond: 5000, sampleMs: 100, port });
    const positive = (name: string, v: number) => assert.ok(Number.isFinite(v) && v > 0, `${name}: ${v}`);
    positive('steady bytes per unique event', r.steady.bytesPerUniqueEvent);
    positive('steady CPU per copy', r.steady.redisCpuMicrosPerCopy);
    positive('first-fill CPU per copy', r.firstFill.redisCpuMicrosPerCopy);
    assert.ok(
      r.steady.bytesPerUniqueEvent > 50 && r.steady.bytesPerUniqueEvent < 1000,
      `${r.steady.bytesPerUniqueEvent} bytes`,
    );
    assert.ok(r.steady.redisCpuMicrosPerCopy < 1000, `${r.steady.redisCpuMicrosPerCopy} µs`);
    assert.ok(r.firstFill.redisCpuMicrosPerCopy < 1000, `${r.firstFill.redisCpuMicrosPerCopy} µs`);
    // The window held about rate × window events (fewer on a loaded machine), and they expired for real.
    assert.ok(
      r.steady.uniqueInWindow > 1000 && r.steady.uniqueInWindow < 7500,
      `${r.steady.uniqueInWindow} in the window`,
    );
    assert.ok(r.steady.expiredKeysPerSecond > 0, `${r.steady.expiredKeysPerSecond} expired/s`);
    assert.ok(r.firstFill.copies > 0 && r.steady.copies > 0);
  });
});
