import { decodeBody, type ProcessedBatch } from '../shared/batch-codec.js';
import type { EventEnvelope } from '../shared/envelope.js';
import { isEnvelope } from './ndjson/ndjson-line.js';

export interface DecodedEvent {
  readonly id: string;
  readonly envelope: EventEnvelope;
}

/** A body that is not an event envelope: every sink keeps it somewhere with the reason instead of dropping it. */
export interface RejectedBody {
  readonly id: string;
  readonly reason: string;
  readonly body: Uint8Array;
}

/** Decodes the bodies of processed batches once, in order, for the sinks that need the envelope's fields. */
export function decodeBatches(batches: readonly ProcessedBatch[]): {
  events: DecodedEvent[];
  rejected: RejectedBody[];
} {
  const events: DecodedEvent[] = [];
  const rejected: RejectedBody[] = [];
  for (const batch of batches) {
    for (let i = 0; i < batch.ids.length; i++) {
      const decoded = decodeEvent(batch.ids[i]!, batch.bodies[i]!);
      if ('envelope' in decoded) events.push(decoded);
      else rejected.push(decoded);
    }
  }
  return { events, rejected };
}

/** One body: its envelope, or the reason it is none (kept with the body, never dropped). */
export function decodeEvent(id: string, body: Uint8Array): DecodedEvent | RejectedBody {
  let value: unknown;
  let reason = 'not an event envelope';
  try {
    value = decodeBody(body);
  } catch (err) {
    reason = `body does not decode: ${(err as Error).message}`;
  }
  if (isEnvelope(value)) return { id, envelope: value };
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'id'))
    reason = 'the envelope has a field named id, which would hide the event id';
  return { id, reason, body };
}

/** The line the file sink writes to `rejected.ndjson` (and the stdout sink to stdout) for a body that is no envelope. */
export function rejectedLine(r: RejectedBody): string {
  return JSON.stringify({ id: r.id, reason: r.reason, body_base64: Buffer.from(r.body).toString('base64') }) + '\n';
}
