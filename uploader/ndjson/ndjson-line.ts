import type { EventEnvelope } from '../../shared/envelope.js';
import { ndjsonTime } from './ndjson-time.js';

/** The fields a line starts with, in this order; the envelope's other fields follow in their own order. */
const LEADING_FIELDS = new Set(['tag', 'time', 'received_at', 'receiver', 'source', 'transport', 'format', 'message']);

/**
 * One output line of the file sink (docs/design.md §5): the id first, then the envelope's fields; `time` and
 * `received_at` in the one shape of ndjson-time.ts (received_at: milliseconds, so three fraction digits).
 * Pure, so the line format is tested without files. Built without object rest/spread, and the ISO string of the
 * last receipt time is reused (a batch's events share it): the uploader formats every event it writes.
 */
export function formatEventLine(id: string, envelope: EventEnvelope): string {
  const line: Record<string, unknown> = {
    id,
    tag: envelope.tag,
    time: typeof envelope.time === 'string' ? ndjsonTime(envelope.time) : envelope.time,
    received_at: isoTime(envelope.received_at),
    receiver: envelope.receiver,
    source: envelope.source,
    transport: envelope.transport,
    format: envelope.format,
    message: envelope.message,
  };
  for (const key in envelope) if (!LEADING_FIELDS.has(key)) line[key] = envelope[key as keyof EventEnvelope];
  return JSON.stringify(line) + '\n';
}

let lastMs = Number.NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** Events are filed by the UTC hour they were received: robust to senders with wrong clocks or no time at all. */
export function hourlyFileName(receivedAtMs: number): string {
  const iso = new Date(receivedAtMs).toISOString(); // 2026-11-23T02:26:37.000Z
  return `events.${iso.slice(0, 10)}-${iso.slice(11, 13)}.ndjson`;
}

export function isEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  // No envelope fanin writes has a field named id; one that does (a foreign or crafted body) would overwrite the
  // event id in the line, and sinks are idempotent by that id, so such a body is rejected with its reason instead.
  return (
    !Object.hasOwn(v, 'id') &&
    typeof v.tag === 'string' &&
    Number.isFinite(v.received_at) &&
    Math.abs(v.received_at as number) <= 8.64e15 &&
    typeof v.receiver === 'string' &&
    typeof v.format === 'string'
  );
}
