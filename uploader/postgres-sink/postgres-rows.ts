import type { DecodedEvent, RejectedBody } from '../decoded-events.js';

/**
 * Events as column arrays for one `INSERT … SELECT * FROM unnest($1::text[], …)`: a single statement, a single
 * round trip, whatever the batch size. Pure, so the value rules are tested without a database:
 *
 * - PostgreSQL refuses U+0000 in text and in jsonb strings (and lone UTF-16 surrogates in jsonb), and would fail the
 *   whole statement: such characters become U+FFFD (the raw line is not kept elsewhere, so say it: `sanitized`).
 * - `time` is passed on only when PostgreSQL will take it (ISO 8601, years 1–9999), else NULL; the message keeps
 *   the sender's stamp.
 * - an event whose receipt time is not a valid date cannot be partitioned or filed: it goes to the rejected rows.
 */
export const EVENT_COLUMNS = [
  ['id', 'text'],
  ['received_day', 'date'],
  ['received_at', 'timestamptz'],
  ['time', 'timestamptz'],
  ['tag', 'text'],
  ['receiver', 'text'],
  ['source', 'text'],
  ['transport', 'text'],
  ['format', 'text'],
  ['message', 'text'],
  ['facility', 'text'],
  ['severity', 'text'],
  ['hostname', 'text'],
  ['app_name', 'text'],
  ['proc_id', 'text'],
  ['msg_id', 'text'],
  ['structured_data', 'jsonb'],
  ['record', 'jsonb'],
  ['metadata', 'jsonb'],
  ['parse_error', 'text'],
] as const;

export interface EventRows {
  /** One array per EVENT_COLUMNS entry, each `count` long. */
  readonly columns: (string | null)[][];
  readonly count: number;
  /** Distinct UTC days of receipt (YYYY-MM-DD): the partitions the rows need. */
  readonly days: Set<string>;
  /** Events with U+0000 or lone surrogates replaced. */
  readonly sanitized: number;
  /** Events dropped because an earlier row of the same statement has the same key (same id, and day if partitioned). */
  readonly repeated: number;
  readonly receivedAt: number[];
  readonly rejected: { id: string[]; reason: string[]; body: string[] };
}

const MIN_MS = Date.UTC(1, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export function buildEventRows(
  events: readonly DecodedEvent[],
  rejected: readonly RejectedBody[],
  partitioned: boolean,
): EventRows {
  const columns: (string | null)[][] = EVENT_COLUMNS.map(() => []);
  const days = new Set<string>();
  const seen = new Set<string>();
  const receivedAt: number[] = [];
  const rej = { id: [] as string[], reason: [] as string[], body: [] as string[] };
  const fixes: Replacements = { n: 0 };
  const reject = (r: RejectedBody) => {
    rej.id.push(text(r.id, fixes)!);
    rej.reason.push(text(r.reason, fixes)!);
    rej.body.push(Buffer.from(r.body).toString('base64'));
  };
  for (const r of rejected) reject(r);
  let sanitized = 0;
  let repeated = 0;
  let count = 0;
  for (const { id, envelope: e } of events) {
    if (!Number.isFinite(e.received_at) || e.received_at < MIN_MS || e.received_at > MAX_MS) {
      reject({
        id,
        reason: `received_at is not a date: ${String(e.received_at)}`,
        body: Buffer.from(JSON.stringify(e)),
      });
      continue;
    }
    const receivedIso = new Date(e.received_at).toISOString();
    const day = receivedIso.slice(0, 10);
    const key = partitioned ? `${id}\n${day}` : id;
    if (seen.has(key)) {
      repeated++;
      continue;
    }
    seen.add(key);
    const before = fixes.n;
    const values = [
      text(id, fixes),
      day,
      receivedIso,
      eventTime(e.time),
      text(e.tag, fixes),
      text(e.receiver, fixes),
      text(e.source, fixes),
      text(e.transport, fixes),
      text(e.format, fixes),
      text(e.message, fixes),
      text(e.facility, fixes),
      text(e.severity, fixes),
      text(e.hostname, fixes),
      text(e.app_name, fixes),
      text(e.proc_id, fixes),
      text(e.msg_id, fixes),
      json(e.structured_data, fixes),
      json(e.record, fixes),
      json(e.metadata, fixes),
      text(e.parse_error, fixes),
    ];
    if (fixes.n !== before) sanitized++;
    for (let c = 0; c < values.length; c++) columns[c]!.push(values[c]!);
    days.add(day);
    receivedAt.push(e.received_at);
    count++;
  }
  return { columns, count, days, sanitized, repeated, receivedAt, rejected: rej };
}

/** Counts the values that had a character replaced. */
export interface Replacements {
  n: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function text(v: unknown, fixes: Replacements): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  if (!s.includes('\0')) return s;
  fixes.n++;
  return s.replaceAll('\0', '\uFFFD');
}

export function json(v: unknown, fixes: Replacements): string | null {
  if (v === null || v === undefined) return null;
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) return null;
  // JSON.stringify escapes U+0000 as \u0000 and a lone surrogate as \udXXX: only then walk the value (rare).
  return /\\u(?:0000|d[89a-f])/i.test(s) ? JSON.stringify(sanitizeDeep(v, fixes, 0)) : s;
}

function sanitizeString(s: string, fixes: Replacements): string {
  const out = s.replaceAll('\0', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
  if (out !== s) fixes.n++;
  return out;
}

function sanitizeDeep(v: unknown, fixes: Replacements, depth: number): unknown {
  if (typeof v === 'string') return sanitizeString(v, fixes);
  if (v === null || typeof v !== 'object' || depth > 200) return v;
  if (Array.isArray(v)) return v.map((x) => sanitizeDeep(x, fixes, depth + 1));
  if (ArrayBuffer.isView(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[sanitizeString(k, fixes)] = sanitizeDeep(x, fixes, depth + 1);
  return out;
}

export function eventTime(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  if (ISO_TIME.test(v) && !v.startsWith('0000')) return v;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS ? new Date(ms).toISOString() : null;
}
