/** A Prometheus histogram read from /metrics text, summed over its label sets (cumulative buckets, as exposed). */
export interface PromHistogram {
  /** Ascending upper bounds; the last is +Infinity. */
  readonly buckets: readonly { le: number; count: number }[];
  readonly count: number;
  readonly sum: number;
}

export function parseHistogram(text: string, name: string): PromHistogram {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (rest.startsWith('_bucket')) {
      const le = /le="([^"]+)"/.exec(rest)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
    } else if (rest.startsWith('_count')) {
      count += value;
    } else if (rest.startsWith('_sum')) {
      sum += value;
    }
  }
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, count, sum };
}

export async function scrapeHistogram(url: string, name: string): Promise<PromHistogram> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseHistogram(await res.text(), name);
}

/** after − before: the observations made between two scrapes of the same process. */
export function diffHistogram(after: PromHistogram, before: PromHistogram): PromHistogram {
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile estimated like PromQL's histogram_quantile: find the bucket holding rank q·count and interpolate
 * linearly inside it (lower bound 0 for the first bucket); a rank in the +Inf bucket yields the largest finite bound.
 * Null when the histogram is empty.
 */
export function histogramQuantile(h: PromHistogram, q: number): number | null {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevBound;
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevBound + (b.le - prevBound) * ((rank - prevCount) / inBucket);
    }
    prevBound = b.le;
    prevCount = b.count;
  }
  return prevBound;
}

/** Sum of every sample of a counter (all label sets); 0 when absent. */
export function parseCounter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line.charAt(name.length);
    if (next !== ' ' && next !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

export async function scrapeText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

/** The sum of one histogram over several processes. */
export function sumHistograms(hs: readonly PromHistogram[]): PromHistogram {
  const byLe = new Map<number, number>();
  for (const h of hs) for (const b of h.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
  return {
    buckets: [...byLe].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })),
    count: hs.reduce((s, h) => s + h.count, 0),
    sum: hs.reduce((s, h) => s + h.sum, 0),
  };
}
