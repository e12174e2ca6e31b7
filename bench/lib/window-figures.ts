/**
 * The figures of a Redis dedup-window run (bench/lib/redis-window.ts) out of its samples, kept apart from the I/O so
 * the arithmetic can be checked on made-up samples. Every phase figure is taken between two samples (those at the
 * phase's ends), so a CPU delta and the copies it is divided by cover the same span.
 */
import { median } from './bench-numbers.js';

/** One reading of Redis's INFO with the driver's own counters at the moment the reply came back. */
export interface WindowSample {
  /** Milliseconds since the first batch was offered (the first sample is taken at 0, before it). */
  readonly atMs: number;
  readonly usedMemory: number;
  /** Redis's CPU seconds so far (user + sys). */
  readonly cpuSeconds: number;
  /** Copies (events of decided batches) and unique events decided so far. */
  readonly copies: number;
  readonly unique: number;
  /** Keys in Redis (DBSIZE: expired keys not yet reclaimed count too) and keys Redis has expired so far. */
  readonly keys: number;
  readonly expiredKeys: number;
  /** INFO stats: CPU Redis spent in its active-expire cycle so far, and how often a cycle stopped at its time limit. */
  readonly expireCycleCpuMs: number;
  readonly expireTimeCapReached: number;
  /**
   * INFO commandstats so far: calls of the commands that touch data (those scripts run, and the client's own, such
   * as markPublished's HSET) and of EVAL/EVALSHA. Absent: not sampled.
   */
  readonly dataCommandCalls?: number;
  readonly scriptCalls?: number;
}

export interface WindowPhases {
  readonly windowMs: number;
  /** The first fill is [0, windowMs]; steady is [steadyStartMs, steadyEndMs]. */
  readonly steadyStartMs: number;
  readonly steadyEndMs: number;
}

export interface PhaseFigures {
  /** The span between the phase's first and last sample. */
  readonly seconds: number;
  readonly copies: number;
  readonly uniquePerSecond: number;
  readonly redisCpuMicrosPerCopy: number;
  /** Redis's CPU as % of one core over the span. */
  readonly redisCpuPercent: number;
  /** Data commands (see WindowSample) and script calls per copy; absent when commandstats were not sampled. */
  readonly redisCallsPerCopy?: number;
  readonly scriptCallsPerCopy?: number;
}

export interface SteadyFigures extends PhaseFigures {
  /** Median over the phase's samples of (used_memory − the empty server's) ÷ unique events decided in the window before the sample. */
  readonly bytesPerUniqueEvent: number;
  /** Medians over the phase's samples: memory above the empty server's, unique events in the preceding window, keys. */
  readonly usedMemoryBytes: number;
  readonly uniqueInWindow: number;
  readonly keysPerUniqueEvent: number;
  readonly expiredKeysPerSecond: number;
  /** Share of Redis's CPU spent in the active-expire cycle, and cycles cut short by its time limit. */
  readonly expireCycleCpuShare: number;
  readonly expireTimeCapReached: number;
  readonly memorySamples: number;
}

export interface FillFigures extends PhaseFigures {
  /** (used_memory − the empty server's) ÷ unique events so far, at the fill's last sample: the filling-window figure. */
  readonly bytesPerUniqueEvent: number;
}

export interface WindowFigures {
  readonly firstFill: FillFigures;
  readonly steady: SteadyFigures;
}

export function windowFigures(
  samples: readonly WindowSample[],
  emptyUsedMemory: number,
  phases: WindowPhases,
): WindowFigures {
  const fill = within(samples, 0, phases.windowMs, 'first fill');
  const steady = within(samples, phases.steadyStartMs, phases.steadyEndMs, 'steady');
  const fillLast = fill[fill.length - 1]!;
  const perSample = steady.map((s) => {
    const inWindow = s.unique - uniqueAt(samples, s.atMs - phases.windowMs);
    return { memory: s.usedMemory - emptyUsedMemory, inWindow, keys: s.keys };
  });
  const uniqueInWindow = median(perSample.map((p) => p.inWindow));
  const first = steady[0]!;
  const last = steady[steady.length - 1]!;
  return {
    firstFill: {
      ...phaseFigures(fill),
      bytesPerUniqueEvent: round((fillLast.usedMemory - emptyUsedMemory) / Math.max(1, fillLast.unique), 1),
    },
    steady: {
      ...phaseFigures(steady),
      bytesPerUniqueEvent: round(median(perSample.map((p) => p.memory / Math.max(1, p.inWindow))), 1),
      usedMemoryBytes: Math.round(median(perSample.map((p) => p.memory))),
      uniqueInWindow: Math.round(uniqueInWindow),
      keysPerUniqueEvent: round(median(perSample.map((p) => p.keys / Math.max(1, p.inWindow))), 3),
      expiredKeysPerSecond: Math.round(
        (last.expiredKeys - first.expiredKeys) / Math.max(0.001, (last.atMs - first.atMs) / 1000),
      ),
      expireCycleCpuShare: round(
        (last.expireCycleCpuMs - first.expireCycleCpuMs) / 1000 / Math.max(1e-9, last.cpuSeconds - first.cpuSeconds),
        3,
      ),
      expireTimeCapReached: last.expireTimeCapReached - first.expireTimeCapReached,
      memorySamples: steady.length,
    },
  };
}

/**
 * The samples from the first at or after `fromMs` to the first at or after `toMs` (or the last): a sampler wakes
 * just after the time it asked for, and a phase should not lose a whole interval at its end to that. At least two,
 * or the phase has no span to measure over.
 */
function within(samples: readonly WindowSample[], fromMs: number, toMs: number, phase: string): WindowSample[] {
  const start = samples.findIndex((s) => s.atMs >= fromMs);
  const end = samples.findIndex((s) => s.atMs >= toMs);
  const inside = start === -1 ? [] : samples.slice(start, end === -1 ? samples.length : end + 1);
  if (inside.length < 2) throw new Error(`redis window: ${inside.length} samples in the ${phase} phase, need 2`);
  return inside;
}

function phaseFigures(inside: readonly WindowSample[]): PhaseFigures {
  const first = inside[0]!;
  const last = inside[inside.length - 1]!;
  const seconds = Math.max(0.001, (last.atMs - first.atMs) / 1000);
  const copies = last.copies - first.copies;
  const cpu = last.cpuSeconds - first.cpuSeconds;
  return {
    seconds: round(seconds, 2),
    copies,
    uniquePerSecond: Math.round((last.unique - first.unique) / seconds),
    redisCpuMicrosPerCopy: round((cpu * 1e6) / Math.max(1, copies), 2),
    redisCpuPercent: round((100 * cpu) / seconds, 1),
    ...(first.dataCommandCalls !== undefined && last.dataCommandCalls !== undefined
      ? { redisCallsPerCopy: round((last.dataCommandCalls - first.dataCommandCalls) / Math.max(1, copies), 3) }
      : {}),
    ...(first.scriptCalls !== undefined && last.scriptCalls !== undefined
      ? { scriptCallsPerCopy: round((last.scriptCalls - first.scriptCalls) / Math.max(1, copies), 4) }
      : {}),
  };
}

/**
 * Unique events decided by `atMs`, linearly between the samples around it (the counter only grows, and the samples
 * are a few hundred milliseconds apart); the first sample's count before it.
 */
export function uniqueAt(samples: readonly WindowSample[], atMs: number): number {
  if (samples.length === 0) return 0;
  if (atMs <= samples[0]!.atMs) return samples[0]!.unique;
  for (let i = 1; i < samples.length; i++) {
    const b = samples[i]!;
    if (b.atMs < atMs) continue;
    const a = samples[i - 1]!;
    return a.unique + ((b.unique - a.unique) * (atMs - a.atMs)) / Math.max(1e-9, b.atMs - a.atMs);
  }
  return samples[samples.length - 1]!.unique;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
