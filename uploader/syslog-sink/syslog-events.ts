import { Decoder } from '@msgpack/msgpack';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import { compactRawFrame, expandCompactBody } from '../../shared/compact-body.js';
import type { EventEnvelope } from '../../shared/envelope.js';
import type { RejectedBody } from '../decoded-events.js';
import { isEnvelope } from '../ndjson/ndjson-line.js';

export interface SyslogSinkEvent {
  readonly id: string;
  readonly envelope: EventEnvelope;
  /** The line as the device sent it, when the receiver kept it (receiver.syslogKeepRaw); null otherwise. */
  readonly raw: Uint8Array | null;
}

/** The same limits as the batch codec's body decoding: a body is one event, never gigabytes. */
const decoder = new Decoder({
  maxStrLength: 16 * 1024 * 1024,
  maxBinLength: 64 * 1024 * 1024,
  maxArrayLength: 1_000_000,
  maxMapLength: 100_000,
});

/**
 * Decodes each body once, keeping what decodeBatches (decoded-events.ts) drops: the raw frame a compact syslog body
 * may carry after its fields. A body that is no envelope is returned with its reason, never dropped.
 */
export function decodeSyslogSinkEvents(batches: readonly ProcessedBatch[]): {
  events: SyslogSinkEvent[];
  rejected: RejectedBody[];
} {
  const events: SyslogSinkEvent[] = [];
  const rejected: RejectedBody[] = [];
  for (const batch of batches) {
    for (let i = 0; i < batch.ids.length; i++) {
      const id = batch.ids[i]!;
      const body = batch.bodies[i]!;
      let value: unknown;
      let raw: Uint8Array | null = null;
      let reason = 'not an event envelope';
      try {
        value = decoder.decode(body);
        if (Array.isArray(value)) {
          raw = compactRawFrame(value);
          value = expandCompactBody(value);
        }
      } catch (err) {
        reason = `body does not decode: ${(err as Error).message}`;
        value = undefined;
      }
      if (isEnvelope(value)) events.push({ id, envelope: value, raw });
      else rejected.push({ id, reason, body });
    }
  }
  return { events, rejected };
}
