import { createHash, hash } from 'node:crypto';

/** 128-bit dedup key. SHA-256, truncated: a fast non-cryptographic hash would let a sender forge collisions. */
export const EVENT_KEY_BYTES = 16;

/**
 * The key of a syslog event: the sender address and the frame bytes, and nothing the receiver adds, so every copy
 * of the event gets the same key. `source` is null when the operator turned address hashing off.
 */
export function syslogEventKey(source: string | null, frame: Uint8Array): Uint8Array {
  return prefixedKey(prefixOf(source), frame);
}

/**
 * SHA-256 of prefix + content, one-shot, laid out in one reused scratch buffer: hash() reads it synchronously, so
 * nothing else can see it meanwhile. Receivers key every copy, so this avoids a Hash object, a buffer and a prefix
 * encoding per event. The prefix stays in the scratch buffer until another one is needed (a connection's frames
 * come in runs from one source), so most events copy only their content. The bytes hashed are exactly prefix +
 * content, so keys do not depend on how they are laid out here (tested against a plain hash).
 */
function prefixedKey(prefix: Uint8Array, content: Uint8Array): Uint8Array {
  const length = prefix.byteLength + content.byteLength;
  if (length > scratch.byteLength) {
    scratch = new Uint8Array(Math.max(length, scratch.byteLength * 2));
    scratchPrefix = null;
  }
  if (scratchPrefix !== prefix) {
    scratch.set(prefix, 0);
    scratchPrefix = prefix;
  }
  scratch.set(content, prefix.byteLength);
  // A plain Uint8Array view: Buffer#subarray makes a Buffer, which costs about twice as much per call.
  return sha256Key(new Uint8Array(scratch.buffer, 0, length));
}

let scratch = new Uint8Array(16 * 1024);
/** The prefix whose bytes scratch starts with (compared by identity: prefixes are made once per source). */
let scratchPrefix: Uint8Array | null = null;
// The prefix of the last source seen: a connection's frames come in runs from one source.
let lastSource: string | null | undefined;
let lastPrefix: Uint8Array = new Uint8Array(0);

function prefixOf(source: string | null): Uint8Array {
  if (source !== lastSource) {
    lastPrefix = Buffer.from(source === null ? 'syslog\0\0' : `syslog\0${source}\0`, 'utf8');
    lastSource = source;
  }
  return lastPrefix;
}

const STRUCTURED_PREFIX = Buffer.from('structured\0', 'latin1');

/** The key of a structured event (Forward, HTTP): tag, sender-stated time and the record in canonical msgpack. */
export function structuredEventKey(canonicalContent: Uint8Array): Buffer {
  const key = prefixedKey(STRUCTURED_PREFIX, canonicalContent);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
}

// Keys are handed out as views of a shared block, EVENT_KEY_BYTES each, like the record packer's bodies: a full
// block is left to the views that still hold it and a new one started, so a key stays intact for as long as it is
// kept.
const KEY_BLOCK_KEYS = 4096;
let keyBlock = new Uint8Array(KEY_BLOCK_KEYS * EVENT_KEY_BYTES);
let keyAt = 0;

/**
 * The first EVENT_KEY_BYTES of the SHA-256 of `bytes`. The digest comes back as a 'binary' (latin1) string (one char per
 * byte) and is copied into the key block: asked for as a Buffer, crypto.hash makes a new ArrayBuffer per call,
 * which costs more than the digest of a log line.
 */
function sha256Key(bytes: Uint8Array): Uint8Array {
  const digest = hash('sha256', bytes, 'binary');
  if (keyAt === keyBlock.length) {
    keyBlock = new Uint8Array(KEY_BLOCK_KEYS * EVENT_KEY_BYTES);
    keyAt = 0;
  }
  const block = keyBlock;
  const at = keyAt;
  for (let i = 0; i < EVENT_KEY_BYTES; i++) block[at + i] = digest.charCodeAt(i);
  keyAt = at + EVENT_KEY_BYTES;
  return new Uint8Array(block.buffer, at, EVENT_KEY_BYTES);
}

/** A fanin event id as a worker writes it: 32 hex digits of the key, `-`, the occurrence number. */
const EVENT_ID = /^[0-9a-f]{32}-[1-9][0-9]{0,9}$/;

export function isEventId(text: string): boolean {
  return text.length <= 43 && EVENT_ID.test(text);
}

/**
 * The key of an event replicated from another fleet: its original fanin id alone. Every path the event takes
 * between fleets delivers the same id, so the copies meet whatever bytes each hop's sink and receiver produced.
 */
export function replicaEventKey(originId: string): Buffer {
  return createHash('sha256').update('replica\0').update(originId).digest().subarray(0, EVENT_KEY_BYTES);
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
