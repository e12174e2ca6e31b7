import type { EventEnvelope, EventFormat, Transport } from '../shared/envelope.js';
import { encodeCanonical } from '../shared/canonical-msgpack.js';
import { replicaEventKey, structuredEventKey } from '../shared/event-key.js';
import { encodeBody } from '../shared/batch-codec.js';

export interface StructuredContext {
  readonly receiverId: string;
  readonly source: string | null;
  readonly transport: Transport;
  readonly format: Extract<EventFormat, 'forward' | 'http'>;
}

/** An event another fleet replicated to this one: its original id and the fleets it passed. */
export interface Replica {
  readonly originId: string;
  readonly path: string[];
}

/**
 * A tagged record (Forward, HTTP) to its dedup key and envelope. The key covers tag, the sender-stated time (null
 * when the sender gave none: a receipt time would differ per copy and never match) and the record, canonically;
 * and Forward v1.5 metadata when the sender attached any (it is the sender's, the same in every copy).
 */
export function encodeStructuredEvent(
  tag: string, time: string | null, record: Record<string, unknown>, ctx: StructuredContext, now: Date,
  metadata: Record<string, unknown> | null = null, replica: Replica | null = null,
): { key: Buffer; body: Uint8Array } {
  const withMetadata = metadata !== null && Object.keys(metadata).length > 0;
  // A replicated event is keyed by its original id alone (docs/replication.md): its bytes differ per path it took.
  const key = replica !== null
    ? replicaEventKey(replica.originId)
    : structuredEventKey(encodeCanonical(withMetadata ? [tag, time, record, metadata] : [tag, time, record]));
  const message = typeof record.message === 'string' ? record.message : typeof record.log === 'string' ? record.log : null;
  const envelope: EventEnvelope = {
    tag, time, received_at: now.getTime(), receiver: ctx.receiverId, source: ctx.source, transport: ctx.transport,
    format: ctx.format, message, record,
  };
  if (withMetadata) envelope.metadata = metadata;
  if (replica !== null) envelope.fleet_path = replica.path;
  return { key, body: encodeBody(envelope) };
}
