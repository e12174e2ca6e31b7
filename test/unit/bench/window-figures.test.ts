import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { infoCpuSeconds, infoDb0Keys, infoField } from '../../../bench/lib/redis-info.js';
import { uniqueAt, windowFigures, type WindowSample } from '../../../bench/lib/window-figures.js';

/**
 * A made-up run at a constant rate: 1 s window, a sample every 250 ms for 3 s, 1000 unique events (2000 copies)
 * decided per second, Redis CPU growing 2 ms per second during the fill and 3 ms per second later (1 of them in the
 * expire cycle), memory growing 100 bytes per unique event during the fill and then holding at 150 000 bytes above
 * the empty server's.
 */
function constantRun(): WindowSample[] {
  const samples: WindowSample[] = [];
  for (let atMs = 0; atMs <= 3000; atMs += 250) {
    const unique = atMs; // 1000 per second
    const cpuSeconds = atMs <= 1000 ? (0.002 * atMs) / 1000 : 0.002 + (0.003 * (atMs - 1000)) / 1000;
    samples.push({
      atMs,
      usedMemory: 1_000_000 + (atMs <= 1000 ? 100 * unique : 100_000 + 50 * Math.min(1000, atMs - 1000)),
      cpuSeconds,
      copies: 2 * unique,
      unique,
      keys: Math.min(unique, 1000) + (atMs >= 2000 ? 200 : 0),
      expiredKeys: Math.max(0, atMs - 1000),
      expireCycleCpuMs: atMs <= 1000 ? 0 : (atMs - 1000) / 1000,
      expireTimeCapReached: atMs >= 2500 ? 1 : 0,
    });
  }
  return samples;
}

describe('bench: dedup-window figures from samples', () => {
  it('per phase: CPU per copy and rates between its first and last sample', () => {
    const f = windowFigures(constantRun(), 1_000_000, { windowMs: 1000, steadyStartMs: 2000, steadyEndMs: 3000 });
    // Fill: 2 ms of CPU over 2000 copies.
    assert.equal(f.firstFill.redisCpuMicrosPerCopy, 1);
    assert.equal(f.firstFill.copies, 2000);
    assert.equal(f.firstFill.seconds, 1);
    assert.equal(f.firstFill.uniquePerSecond, 1000);
    assert.equal(f.firstFill.redisCpuPercent, 0.2);
    assert.equal(f.firstFill.bytesPerUniqueEvent, 100);
    // Steady: 3 ms over 2000 copies.
    assert.equal(f.steady.redisCpuMicrosPerCopy, 1.5);
    assert.equal(f.steady.copies, 2000);
    assert.equal(f.steady.redisCpuPercent, 0.3);
  });

  it('steady bytes per unique event: memory above the empty server over the unique events of the last window', () => {
    const f = windowFigures(constantRun(), 1_000_000, { windowMs: 1000, steadyStartMs: 2000, steadyEndMs: 3000 });
    assert.equal(f.steady.usedMemoryBytes, 150_000);
    assert.equal(f.steady.uniqueInWindow, 1000);
    assert.equal(f.steady.bytesPerUniqueEvent, 150);
    assert.equal(f.steady.keysPerUniqueEvent, 1.2);
    assert.equal(f.steady.expiredKeysPerSecond, 1000);
    assert.equal(f.steady.expireCycleCpuShare, 0.333);
    assert.equal(f.steady.expireTimeCapReached, 1);
    assert.equal(f.steady.memorySamples, 5);
  });

  it('the median resists one odd memory sample', () => {
    const samples = constantRun().map((s) => (s.atMs === 2500 ? { ...s, usedMemory: s.usedMemory * 10 } : s));
    const f = windowFigures(samples, 1_000_000, { windowMs: 1000, steadyStartMs: 2000, steadyEndMs: 3000 });
    assert.equal(f.steady.bytesPerUniqueEvent, 150);
  });

  it('a phase ends at the first sample at or after its end: a sampler wakes a little late', () => {
    const late = constantRun().map((s) => (s.atMs > 0 ? { ...s, atMs: s.atMs + 3 } : s));
    const f = windowFigures(late, 1_000_000, { windowMs: 1000, steadyStartMs: 2000, steadyEndMs: 3000 });
    assert.equal(f.firstFill.copies, 2000);
    assert.equal(f.firstFill.seconds, 1);
    assert.equal(f.steady.copies, 2000);
    assert.equal(f.steady.memorySamples, 5);
  });

  it('refuses a phase with fewer than two samples', () => {
    assert.throws(
      () => windowFigures(constantRun(), 1_000_000, { windowMs: 1000, steadyStartMs: 2900, steadyEndMs: 3100 }),
      /1 samples in the steady phase/,
    );
  });

  it('unique events at a time between samples is interpolated, and clamped at both ends', () => {
    const samples = constantRun();
    assert.equal(uniqueAt(samples, 1125), 1125);
    assert.equal(uniqueAt(samples, -5), 0);
    assert.equal(uniqueAt(samples, 10_000), 3000);
    assert.equal(uniqueAt([], 100), 0);
  });

  it('reads INFO fields, CPU as user + sys, and db0 keys (0 when Redis omits the line)', () => {
    const text =
      '# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\n# Keyspace\r\ndb0:keys=42,expires=40,avg_ttl=9\r\n';
    assert.equal(infoCpuSeconds(text), 3.75);
    assert.equal(infoDb0Keys(text), 42);
    assert.equal(infoDb0Keys('# Keyspace\r\n'), 0);
    assert.equal(infoField('used_memory:1024\r\nused_memory_human:1.00K\r\n', 'used_memory'), 1024);
    assert.throws(() => infoField(text, 'used_memory'), /no used_memory/);
  });
});
