import { createHash } from 'node:crypto';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import type { RouteKey } from '../../shared/event-route.js';
import { encodeStructuredEvent, type StructuredContext } from '../structured-event.js';
import type { ForwardEntry } from './forward-decoder.js';
import { ForwardError } from './forward-errors.js';
import { classifyReplica, type ReplicationConfig } from './replica.js';

export interface EncodedForwardEvent {
  readonly key: Buffer;
  readonly body: Uint8Array;
  readonly route: RouteKey;
  /** A replicated event's original fanin id: its id in this fleet too (the batch carries it to the worker). */
  readonly origin?: string;
}

/** A message's events, and what replication made of its entries (counted by the caller). */
export interface EncodedForwardEntries {
  readonly events: EncodedForwardEvent[];
  readonly replicas: number;
  /** Entries whose path holds this fleet: dropped. */
  readonly loops: number;
  /** Entries with a path key that is not a valid path or id: kept as ordinary events. */
  readonly invalid: number;
}

/**
 * Forward entries to dedup keys and envelopes (format "forward", transport "forward"). The key is the structured
 * one (tag, sender's event time with nanoseconds, record; plus v1.5 metadata when present), so every copy a
 * forwarder fans out gets the same key, whichever receiver takes it. With replication on (`replication` not null),
 * an entry another fleet replicated is keyed by its original id, and one that went round a loop is left out.
 */
export function encodeForwardEntries(
  tag: string,
  entries: readonly ForwardEntry[],
  source: string | null,
  receiverId: string,
  now: Date,
  replication: ReplicationConfig | null = null,
): EncodedForwardEntries {
  const ctx: StructuredContext = { receiverId, source, transport: 'forward', format: 'forward' };
  const events: EncodedForwardEvent[] = [];
  let replicas = 0;
  let loops = 0;
  let invalid = 0;
  try {
    for (const e of entries) {
      const c = replication === null ? null : classifyReplica(e.record, replication);
      if (c?.kind === 'loop') {
        loops++;
        continue;
      }
      if (c?.kind === 'replica') {
        replicas++;
        const event = encodeStructuredEvent(tag, e.time, c.record, ctx, now, e.metadata, {
          originId: c.originId,
          path: c.path,
        });
        events.push({ ...event, origin: c.originId });
        continue;
      }
      if (c?.kind === 'invalid') invalid++;
      events.push(encodeStructuredEvent(tag, e.time, e.record, ctx, now, e.metadata));
    }
  } catch (err) {
    // The encoder's own limits (nesting depth): the record cannot travel, so the message is refused.
    throw new ForwardError('BAD_MESSAGE', `record cannot be encoded: ${(err as Error).message}`);
  }
  return { events, replicas, loops, invalid };
}

/**
 * The dedup identity of a chunk: its id's exact msgpack bytes (str and bin differ) and the tag, hashed to 128 bits.
 * A resend of a chunk carries the same id and tag, to this receiver or another; keys stay fixed-length and free of
 * `:` or `{}` whatever a sender puts in its ids, and the tag keeps two applications' trivial ids ("1", "2") apart.
 */
export function forwardChunkKey(tag: string, chunk: Uint8Array): Buffer {
  return createHash('sha256')
    .update('forward-chunk\0')
    .update(tag)
    .update('\0')
    .update(chunk)
    .digest()
    .subarray(0, EVENT_KEY_BYTES);
}
