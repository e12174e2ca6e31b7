import { createHash, hash } from 'node:crypto';

/** 128-bit dedup key. SHA-256, truncated: a fast non-cryptographic hash would let a sender forge collisions. */
export const EVENT_KEY_BYTES = 16;

/**
 * The key of a syslog event: the sender address and the frame bytes, and nothing the receiver adds, so every copy
 * of the event gets the same key. `source` is null when the operator turned address hashing off.
 */
export function syslogEventKey(source: string | null, frame: Uint8Array): Buffer {
  // One-shot crypto.hash over prefix + frame in one pooled buffer: a third cheaper per event than a Hash object
  // with two updates (receivers hash every copy). The bytes hashed are the same as before, so are the keys.
  const prefix = source === null ? 'syslog\0\0' : `syslog\0${source}\0`;
  const prefixBytes = Buffer.byteLength(prefix);
  const input = Buffer.allocUnsafe(prefixBytes + frame.byteLength);
  input.write(prefix, 0, prefixBytes, 'utf8');
  input.set(frame, prefixBytes);
  return hash('sha256', input, 'buffer').subarray(0, EVENT_KEY_BYTES);
}

/** The key of a structured event (Forward, HTTP): tag, sender-stated time and the record in canonical msgpack. */
export function structuredEventKey(canonicalContent: Uint8Array): Buffer {
  const h = createHash('sha256');
  h.update('structured\0');
  h.update(canonicalContent);
  return h.digest().subarray(0, EVENT_KEY_BYTES);
}

/** An event's id is its key and occurrence number: the same event gets the same id after any retry or replay. */
export function eventId(key: Uint8Array, occurrence: number): string {
  return eventIdOfHex(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex'), occurrence);
}

/** eventId for a key already in hex (workers convert a batch's keys at once). */
export function eventIdOfHex(keyHex: string, occurrence: number): string {
  return `${keyHex}-${occurrence}`;
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d over TCP but not always over UDP: unify them. */
export function normalizeAddress(address: string | undefined): string | null {
  if (!address) return null;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
