import type { EventEnvelope } from '../../shared/envelope.js';

/**
 * One output line of the file sink (DESIGN §5): the id first, then the envelope's fields, `received_at` as ISO 8601.
 * Pure, so the line format is tested without files.
 */
export function formatEventLine(id: string, envelope: EventEnvelope): string {
  const { tag, time, received_at, receiver, source, transport, format, message, ...rest } = envelope;
  return JSON.stringify({
    id, tag, time, received_at: new Date(received_at).toISOString(), receiver, source, transport, format, message, ...rest,
  }) + '\n';
}

/** Events are filed by the UTC hour they were received: robust to senders with wrong clocks or no time at all. */
export function hourlyFileName(receivedAtMs: number): string {
  const iso = new Date(receivedAtMs).toISOString(); // 2026-11-23T02:26:37.000Z
  return `events.${iso.slice(0, 10)}-${iso.slice(11, 13)}.ndjson`;
}

export function isEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.tag === 'string' && typeof v.received_at === 'number' && typeof v.receiver === 'string' && typeof v.format === 'string';
}
