/**
 * A small parser for the Prometheus text exposition format (version 0.0.4), enough for `fanin top` to read the
 * processes' /metrics and RabbitMQ's plugin: samples with labels and values; comments, HELP and TYPE lines skipped.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;

/** Parses every sample line; a malformed line is skipped (a scrape should not fail on one odd line). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): Sample | null {
  let i = 0;
  if (!NAME_START.test(line[0] ?? '')) return null;
  while (i < line.length && NAME_CHAR.test(line[i]!)) i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (let guard = 0; guard < line.length; guard++) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const start = i;
      while (i < line.length && NAME_CHAR.test(line[i]!)) i++;
      const label = line.slice(start, i);
      if (label === '' || line[i] !== '=' || line[i + 1] !== '"') return null;
      i += 2;
      let value = '';
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\') {
          const next = line[++i];
          value += next === 'n' ? '\n' : (next ?? '');
        } else {
          value += line[i];
        }
      }
      if (line[i] !== '"') return null;
      i++;
      labels[label] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  return value === null ? null : { name, labels, value };
}

function parseValue(token: string): number | null {
  if (token === '+Inf' || token === 'Inf') return Infinity;
  if (token === '-Inf') return -Infinity;
  if (token === 'NaN') return NaN;
  if (token === '') return null;
  const n = Number(token);
  return Number.isNaN(n) ? null : n;
}

/** Sum of the samples named `name` whose labels include `match`, grouped by the value of label `by`. */
export function sumBy(
  samples: readonly Sample[],
  name: string,
  by: string,
  match: Readonly<Record<string, string>> = {},
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name || !matches(s, match)) continue;
    const key = s.labels[by] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const s of samples) if (s.name === name && matches(s, match)) sum += s.value;
  return sum;
}

function matches(s: Sample, match: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(match)) if (s.labels[k] !== v) return false;
  return true;
}
