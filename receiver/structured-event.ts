import type { EventEnvelope, EventFormat, Transport } from '../shared/envelope.js';
import { encodeCanonical } from '../shared/canonical-msgpack.js';
import { replicaEventKey, structuredEventKey } from '../shared/event-key.js';
import { encodeBody } from '../shared/batch-codec.js';
import { NO_SEVERITY, type RouteKey } from '../shared/event-route.js';

export interface StructuredContext {
  readonly receiverId: string;
  readonly source: string | null;
  readonly transport: Transport;
  readonly format: Extract<EventFormat, 'forward' | 'http'>;
  /** The envelope's time when the sender gave none: the receipt time (fluentd in_http), else null. Never in the key. */
  readonly receiptTimeWhenNone?: boolean;
}

/** An event another fleet replicated to this one: its original id and the fleets it passed. */
export interface Replica {
  readonly originId: string;
  readonly path: string[];
}

/**
 * A tagged record (Forward, HTTP) to its dedup key and envelope. The key covers tag, the sender-stated time (null
 * when the sender gave none: a receipt time would differ per copy and never match) and the record, canonically;
 * and Forward v1.5 metadata when the sender attached any (it is the sender's, the same in every copy). The key is
 * made from the record as received; the envelope carries it with binary values as text (binaryAsText).
 */
export function encodeStructuredEvent(
  tag: string,
  time: string | null,
  record: Record<string, unknown>,
  ctx: StructuredContext,
  now: Date,
  metadata: Record<string, unknown> | null = null,
  replica: Replica | null = null,
): { key: Buffer; body: Uint8Array; route: RouteKey } {
  const withMetadata = metadata !== null && Object.keys(metadata).length > 0;
  // A replicated event is keyed by its original id alone (docs/replication.md): its bytes differ per path it took.
  const key =
    replica !== null
      ? replicaEventKey(replica.originId)
      : structuredEventKey(encodeCanonical(withMetadata ? [tag, time, record, metadata] : [tag, time, record]));
  const message =
    typeof record.message === 'string' ? record.message : typeof record.log === 'string' ? record.log : null;
  const envelope: EventEnvelope = {
    tag,
    time: time ?? (ctx.receiptTimeWhenNone ? now.toISOString() : null),
    received_at: now.getTime(),
    receiver: ctx.receiverId,
    source: ctx.source,
    transport: ctx.transport,
    format: ctx.format,
    message,
    record: binaryAsText(record),
  };
  if (withMetadata) envelope.metadata = metadata;
  if (replica !== null) envelope.fleet_path = replica.path;
  return { key, body: encodeBody(envelope), route: { tag, severity: NO_SEVERITY } };
}

/**
 * A record with every msgpack bin value (a Uint8Array once decoded) turned into a string, its bytes read as UTF-8: how
 * fluentd and Fluent Bit write such values to JSON (Ruby unpacks bin to a String; flb_pack writes BIN as a string).
 * Bytes that are not UTF-8 become U+FFFD; a sender that needs arbitrary bytes kept should base64 them. Returns the
 * record itself, not a copy, when it holds no binary value (the usual case: no allocation on the hot path).
 */
export function binaryAsText(record: Record<string, unknown>): Record<string, unknown> {
  return hasBinary(record) ? (convert(record) as Record<string, unknown>) : record;
}

function hasBinary(value: object): boolean {
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const child of value as unknown[])
      if (typeof child === 'object' && child !== null && hasBinary(child)) return true;
    return false;
  }
  // for-in: no array of values allocated per record (this runs for every Forward and HTTP event).
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && hasBinary(child)) return true;
  }
  return false;
}

function convert(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(convert);
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // EventTime and other extension values
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A "__proto__" key from JSON is an own property; assigning it would set the copy's prototype instead.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: convert(v), enumerable: true, writable: true, configurable: true });
    else out[k] = convert(v);
  }
  return out;
}
