import { decodeBody, type ProcessedBatch } from '../shared/batch-codec.js';
import type { EventEnvelope } from '../shared/envelope.js';
import { isEnvelope } from './file-sink/ndjson-line.js';

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
export function decodeBatches(batches: readonly ProcessedBatch[]): { events: DecodedEvent[]; rejected: RejectedBody[] } {
  const events: DecodedEvent[] = [];
  const rejected: RejectedBody[] = [];
  for (const batch of batches) {
    for (let i = 0; i < batch.ids.length; i++) {
      const id = batch.ids[i]!;
      const body = batch.bodies[i]!;
      let value: unknown;
      let reason = 'not an event envelope';
      try { value = decodeBody(body); } catch (err) { reason = `body does not decode: ${(err as Error).message}`; }
      if (isEnvelope(value)) events.push({ id, envelope: value });
      else rejected.push({ id, reason, body });
    }
  }
  return { events, rejected };
}

/** The line the file sink writes to `rejected.ndjson` (and the stdout sink to stdout) for a body that is no envelope. */
export function rejectedLine(r: RejectedBody): string {
  return JSON.stringify({ id: r.id, reason: r.reason, body_base64: Buffer.from(r.body).toString('base64') }) + '\n';
}
