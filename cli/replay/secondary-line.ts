import { encodeBody } from '../../shared/batch-codec.js';
import { isEnvelope } from '../../uploader/ndjson/ndjson-line.js';

/** One event read back from a secondary file: the id the worker gave it and its envelope as msgpack. */
export interface SecondaryEvent {
  readonly id: string;
  readonly body: Uint8Array;
}

/**
 * A line of a secondary file (the file sink's NDJSON: `id`, then the envelope with `received_at` as ISO 8601) back to
 * the event the sink was given, so it can travel in a processed batch again. The inverse of formatEventLine: the
 * envelope keeps its fields in the line's order and `received_at` returns to milliseconds, so any sink writes the
 * same line, row or document as it would have the first time. Values JSON cannot carry (msgpack binary) were already
 * turned into JSON by the secondary and stay so. Pure: returns the reason instead of throwing.
 */
export function secondaryLineEvent(line: string): SecondaryEvent | { readonly error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'not a JSON object' };
  const fields = value as Record<string, unknown>;
  const id = fields.id;
  if (typeof id !== 'string' || id === '') return { error: 'no event id' };
  if (typeof fields.received_at !== 'string') return { error: 'received_at is not an ISO 8601 time' };
  const receivedAt = Date.parse(fields.received_at);
  if (!Number.isFinite(receivedAt)) return { error: `received_at ${JSON.stringify(fields.received_at)} is not a time` };
  const envelope: Record<string, unknown> = {};
  for (const key of Object.keys(fields))
    if (key !== 'id') envelope[key] = key === 'received_at' ? receivedAt : fields[key];
  if (!isEnvelope(envelope)) return { error: 'not an event (tag, receiver and format are required)' };
  return { id, body: encodeBody(envelope) };
}
