import { createHash } from 'node:crypto';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import type { RouteKey } from '../../shared/event-route.js';
import { encodeStructuredEvent, type StructuredContext } from '../structured-event.js';
import type { ForwardEntry } from './forward-decoder.js';
import { ForwardError } from './forward-errors.js';

export interface EncodedForwardEvent {
  readonly key: Buffer;
  readonly body: Uint8Array;
  readonly route: RouteKey;
}

/**
 * Forward entries to dedup keys and envelopes (format "forward", transport "forward"). The key is the structured
 * one (tag, sender's event time with nanoseconds, record; plus v1.5 metadata when present), so every copy a
 * forwarder fans out gets the same key, whichever receiver takes it.
 */
export function encodeForwardEntries(tag: string, entries: readonly ForwardEntry[], source: string | null, receiverId: string, now: Date): EncodedForwardEvent[] {
  const ctx: StructuredContext = { receiverId, source, transport: 'forward', format: 'forward' };
  try {
    return entries.map((e) => encodeStructuredEvent(tag, e.time, e.record, ctx, now, e.metadata));
  } catch (err) {
    // The encoder's own limits (nesting depth): the record cannot travel, so the message is refused.
    throw new ForwardError('BAD_MESSAGE', `record cannot be encoded: ${(err as Error).message}`);
  }
}

/**
 * The dedup identity of a chunk: its id's exact msgpack bytes (str and bin differ) and the tag, hashed to 128 bits.
 * A resend of a chunk carries the same id and tag, to this receiver or another; keys stay fixed-length and free of
 * `:` or `{}` whatever a sender puts in its ids, and the tag keeps two applications' trivial ids ("1", "2") apart.
 */
export function forwardChunkKey(tag: string, chunk: Uint8Array): Buffer {
  return createHash('sha256').update('forward-chunk\0').update(tag).update('\0').update(chunk).digest().subarray(0, EVENT_KEY_BYTES);
}
