/**
 * td-agent style strftime file names (`events.%Y-%m-%d-%H.ndjson`), compiled once at start-up into a formatter and
 * a matcher. Pure: no files, so names, indices and the matcher that recovery relies on are tested without a disk.
 *
 * A size-capped period rolls to `<stem>.1<ext>`, `<stem>.2<ext>`…: the index goes before the pattern's literal
 * extension (the part from its last dot, when that part has no conversion), so `*.ndjson` globs still match, and
 * `.gz` is appended to a closed file once compressed.
 */
export type PatternClock = 'utc' | 'local';

export interface FileNamePattern {
  readonly pattern: string;
  readonly clock: PatternClock;
  /** The name of index 0 of the period holding `ms` (today's `events.YYYY-MM-DD-HH.ndjson` for the default). */
  format(ms: number): string;
  /** The name of roll `index` of the period whose index-0 name is `base`. */
  withIndex(base: string, index: number): string;
  /** Parses a directory entry written by this pattern: its period's base name and its roll index, else null. */
  parse(fileName: string): { base: string; index: number; gzipped: boolean } | null;
}

const CONVERSIONS: Record<string, { width: number; regex: string }> = {
  Y: { width: 4, regex: '\\d{4}' },
  y: { width: 2, regex: '\\d{2}' },
  m: { width: 2, regex: '\\d{2}' },
  d: { width: 2, regex: '\\d{2}' },
  H: { width: 2, regex: '\\d{2}' },
  M: { width: 2, regex: '\\d{2}' },
  S: { width: 2, regex: '\\d{2}' },
  j: { width: 3, regex: '\\d{3}' },
  z: { width: 5, regex: '[+-]\\d{4}' },
};

type Piece = string | { conv: string };

/** Throws an Error naming the problem; callers add the setting's key. `allowStatic`: a name without conversions. */
export function compileFileNamePattern(pattern: string, clock: PatternClock, allowStatic = false): FileNamePattern {
  if (pattern === '' || pattern.includes('/') || pattern.includes('\\') || pattern === '.' || pattern === '..') {
    throw new Error('a file name pattern (no directories; put them in the dir setting)');
  }
  const pieces = tokenize(pattern);
  if (!allowStatic && !pieces.some((p) => typeof p !== 'string'))
    throw new Error('the pattern has no time conversion (%Y, %m, %d, %H…): every period would share one file');
  const dot = pattern.lastIndexOf('.');
  const ext = dot > 0 && !pattern.slice(dot).includes('%') ? pattern.slice(dot) : '';
  const stemRegex = tokenize(pattern.slice(0, pattern.length - ext.length))
    .map((p) => (typeof p === 'string' ? escapeRegex(p) : CONVERSIONS[p.conv]!.regex))
    .join('');
  const matcher = new RegExp(`^(${stemRegex})(?:\\.(\\d{1,6}))?(${escapeRegex(ext)})(\\.gz)?$`);
  let lastSecond = Number.NaN;
  let lastName = '';

  const format = (ms: number): string => {
    const second = Math.floor(ms / 1000);
    if (second === lastSecond) return lastName;
    const d = new Date(second * 1000);
    const parts =
      clock === 'utc'
        ? {
            Y: d.getUTCFullYear(),
            m: d.getUTCMonth() + 1,
            d: d.getUTCDate(),
            H: d.getUTCHours(),
            M: d.getUTCMinutes(),
            S: d.getUTCSeconds(),
            off: 0,
          }
        : {
            Y: d.getFullYear(),
            m: d.getMonth() + 1,
            d: d.getDate(),
            H: d.getHours(),
            M: d.getMinutes(),
            S: d.getSeconds(),
            off: -d.getTimezoneOffset(),
          };
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : convert(p.conv, parts);
    lastSecond = second;
    lastName = out;
    return out;
  };

  return Object.freeze({
    pattern,
    clock,
    format,
    withIndex: (base: string, index: number) =>
      index === 0 ? base : `${base.slice(0, base.length - ext.length)}.${index}${ext}`,
    parse: (fileName: string) => {
      const m = matcher.exec(fileName);
      if (!m) return null;
      return { base: m[1]! + m[3]!, index: m[2] === undefined ? 0 : Number(m[2]), gzipped: m[4] !== undefined };
    },
  });
}

function tokenize(pattern: string): Piece[] {
  const out: Piece[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '%') {
      literal += c;
      continue;
    }
    const next = pattern[++i];
    if (next === '%') {
      literal += '%';
      continue;
    }
    if (next === undefined || !(next in CONVERSIONS)) {
      throw new Error(`unsupported conversion %${next ?? ''} (supported: %Y %y %m %d %H %M %S %j %z %%)`);
    }
    if (literal) out.push(literal);
    literal = '';
    out.push({ conv: next });
  }
  if (literal) out.push(literal);
  return out;
}

interface Parts {
  Y: number;
  m: number;
  d: number;
  H: number;
  M: number;
  S: number;
  off: number;
}

function convert(conv: string, p: Parts): string {
  switch (conv) {
    case 'Y':
      return String(p.Y).padStart(4, '0');
    case 'y':
      return pad2(p.Y % 100);
    case 'm':
      return pad2(p.m);
    case 'd':
      return pad2(p.d);
    case 'H':
      return pad2(p.H);
    case 'M':
      return pad2(p.M);
    case 'S':
      return pad2(p.S);
    case 'j':
      return String(dayOfYear(p.Y, p.m, p.d)).padStart(3, '0');
    case 'z':
      return (p.off < 0 ? '-' : '+') + pad2(Math.floor(Math.abs(p.off) / 60)) + pad2(Math.abs(p.off) % 60);
    default:
      throw new Error(`unsupported conversion %${conv}`);
  }
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + String(n);
const dayOfYear = (y: number, m: number, d: number) =>
  Math.round((Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / 86_400_000) + 1;
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
