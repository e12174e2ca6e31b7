/**
 * An event body (msgpack envelope) straight to its NDJSON line, byte for byte the line formatEventLine writes, without
 * decoding it into objects and stringifying them again. Written by hand because no library transcodes msgpack to JSON
 * without materialising the value, and decode + JSON.stringify was most of the uploader's CPU (bench/profiles/).
 *
 * Only the shapes receivers write are transcoded: a compact body (shared/compact-body.ts), or a map whose first eight
 * keys are tag, time, received_at, receiver, source, transport, format and message in that order; with string, nil,
 * boolean, number, map and array values.
 * Anything else (binary or extension values, another key order, a body that is no envelope) returns null and the
 * caller takes the general path (decode, check, format or reject with the reason), so both paths write the same.
 */
import { mayNeedPadding, paddingOf } from './ndjson-time.js';
import { COMPACT_BODY_FIELDS } from '../../shared/compact-body.js';

const LEADING_KEYS = ['tag', 'time', 'received_at', 'receiver', 'source', 'transport', 'format', 'message'];
const LEADING_KEY_BYTES = LEADING_KEYS.map((k) => Buffer.from(k, 'latin1'));
const BLOCK_BYTES = 256 * 1024;
/** Largest |received_at| a Date accepts (ms): the general path rejects beyond it (isEnvelope). */
const MAX_DATE_MS = 8.64e15;

export interface TranscodedLine {
  /** The line with its trailing newline; a view of a shared block, valid for as long as it is kept. */
  readonly line: Buffer;
  readonly receivedAt: number;
}

class NotTranscodable extends Error {}
const NOT_TRANSCODABLE = new NotTranscodable();

let out = Buffer.allocUnsafe(BLOCK_BYTES);
let start = 0;
let pos = 0;
let src: Uint8Array = new Uint8Array(0);
let at = 0;

export function transcodeEventLine(id: string, body: Uint8Array): TranscodedLine | null {
  src = body;
  at = 0;
  try {
    if (isArrayAt()) return transcodeCompact(id);
    const keys = readMapHeader();
    if (keys < LEADING_KEYS.length) return null;
    beginLine(id);
    for (let k = 0; k < keys; k++) {
      const keyLength = readStrHeader();
      if (k < LEADING_KEYS.length ? !bytesEqual(at, keyLength, LEADING_KEY_BYTES[k]!) : !isPlainTopKey(at, keyLength))
        return null;
      writeByte(0x2c); // ,
      copyJsonStringBytes(at, keyLength);
      at += keyLength;
      writeByte(0x3a); // :
      if (!transcodeField(k)) return null;
    }
    return endLine();
  } catch (err) {
    if (err instanceof NotTranscodable || err instanceof RangeError) {
      pos = start;
      return null;
    }
    throw err;
  } finally {
    if (pos !== start) pos = start; // a null return leaves nothing behind
    src = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

/** `,"<name>":` for every field of every compact schema, as bytes. */
const COMPACT_KEY_BYTES: Readonly<Record<number, readonly Buffer[]>> = Object.fromEntries(
  Object.entries(COMPACT_BODY_FIELDS).map(([schema, fields]) => [
    schema,
    fields.map((f) => Buffer.from(`,${JSON.stringify(f)}:`, 'utf8')),
  ]),
);

/** A compact body `[schema, value…]` (shared/compact-body.ts): the names come from the schema. */
function transcodeCompact(id: string): TranscodedLine | null {
  const n = readArrayHeader();
  const schema = readNumber();
  const keys = COMPACT_KEY_BYTES[schema];
  if (keys === undefined || n !== keys.length + 1) return null;
  beginLine(id);
  for (let k = 0; k < keys.length; k++) {
    copyBytes(keys[k]!);
    if (!transcodeField(k)) return null;
  }
  return endLine();
}

/** Field positions both body forms share (LEADING_KEYS, and the compact schemas' first eight fields). */
const TIME = 1;
const RECEIVED_AT = 2;
let receivedAt = Number.NaN;

function beginLine(id: string): void {
  receivedAt = Number.NaN;
  writeAscii('{"id":');
  if (isPlainAscii(id)) {
    writeByte(0x22);
    writeAscii(id);
    writeByte(0x22);
  } else {
    writeJsonString(id);
  }
}

/** Printable ASCII with no quote or backslash: JSON.stringify would write it as it is, between quotes. Event ids are. */
function isPlainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * The value of field k: received_at as ISO 8601 (and remembered), any other as JSON. False when the body is not an
 * envelope as isEnvelope sees it: tag, receiver and format must be strings, received_at a time a Date can hold.
 */
function transcodeField(k: number): boolean {
  if (k === RECEIVED_AT) {
    receivedAt = readNumber();
    if (!Number.isFinite(receivedAt) || Math.abs(receivedAt) > MAX_DATE_MS) return false;
    writeAscii(receivedAtJson(receivedAt));
    return true;
  }
  if ((k === 0 || k === 3 || k === 6) && !isStrAt()) return false;
  if (k === TIME && mayNeedPadding(peekStrLength())) {
    padTime();
    return true;
  }
  transcodeValue(0);
  return true;
}

// The events of one batch mostly share their receipt millisecond (a receiver stamps a whole read with one time).
let lastReceivedAt = Number.NaN;
let lastReceivedAtJson = '';

/** received_at as the JSON string formatEventLine writes: ISO 8601 in UTC. */
function receivedAtJson(ms: number): string {
  if (ms !== lastReceivedAt) {
    lastReceivedAtJson = `"${new Date(ms).toISOString()}"`;
    lastReceivedAt = ms;
  }
  return lastReceivedAtJson;
}

/** The length of the str at `at` without reading past it; -1 when the value there is no str. */
function peekStrLength(): number {
  const b = byteAt(at);
  if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
  if (b === 0xd9) return byteAt(at + 1);
  if (b === 0xda) return byteAt(at + 1) * 256 + byteAt(at + 2);
  if (b === 0xdb) return ((byteAt(at + 1) * 256 + byteAt(at + 2)) * 256 + byteAt(at + 3)) * 256 + byteAt(at + 4);
  return -1;
}

/**
 * An event time whose length says its fraction may be short: padded as ndjsonTime pads it when it has the shape,
 * else copied as any string. Times of other lengths (the usual 0, 3, 6 or 9 digits) never come here.
 */
function padTime(): void {
  const length = readStrHeader();
  if (isShortFractionTime(at, length)) {
    const zeros = paddingOf(length);
    ensure(length + zeros + 2);
    out[pos++] = 0x22; // "
    for (let i = 0; i < length - 1; i++) out[pos++] = src[at + i]!;
    for (let i = 0; i < zeros; i++) out[pos++] = 0x30; // 0
    out[pos++] = 0x5a; // Z
    out[pos++] = 0x22;
  } else {
    copyJsonStringBytes(at, length);
  }
  at += length;
}

/** `YYYY-MM-DDTHH:MM:SS.<digits>Z` in the bytes at `from`, as ndjson-time.ts's pattern reads it. */
function isShortFractionTime(from: number, length: number): boolean {
  for (let i = 0; i < length - 1; i++) {
    const c = src[from + i]!;
    const expected = TIME_PUNCTUATION[i];
    if (expected === undefined ? c < 0x30 || c > 0x39 : c !== expected) return false;
  }
  return src[from + length - 1] === 0x5a; // Z
}

/** The punctuation of `YYYY-MM-DDTHH:MM:SS.` by position; every other position before the `Z` is a digit. */
const TIME_PUNCTUATION: readonly (number | undefined)[] = Object.assign(
  new Array<number | undefined>(20).fill(undefined),
  { 4: 0x2d, 7: 0x2d, 10: 0x54, 13: 0x3a, 16: 0x3a, 19: 0x2e },
);

function endLine(): TranscodedLine | null {
  if (at !== src.length) return null;
  writeAscii('}\n');
  const line = out.subarray(start, pos);
  start = pos;
  return { line, receivedAt };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading msgpack

function byteAt(i: number): number {
  if (i >= src.length) throw NOT_TRANSCODABLE;
  return src[i]!;
}

function readUint(bytes: number): number {
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + byteAt(at++);
  return v;
}

function readMapHeader(): number {
  const b = byteAt(at++);
  if (b >= 0x80 && b <= 0x8f) return b & 0x0f;
  if (b === 0xde) return readUint(2);
  if (b === 0xdf) return readUint(4);
  throw NOT_TRANSCODABLE;
}

function isArrayAt(): boolean {
  const b = byteAt(at);
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}

function readArrayHeader(): number {
  const b = byteAt(at++);
  if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
  if (b === 0xdc) return readUint(2);
  if (b === 0xdd) return readUint(4);
  throw NOT_TRANSCODABLE;
}

function isStrAt(): boolean {
  const b = byteAt(at);
  return (b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb;
}

/** Reads a str header; returns the length, `at` on the first byte. Map keys must be strings. */
function readStrHeader(): number {
  const b = byteAt(at++);
  let length: number;
  if (b >= 0xa0 && b <= 0xbf) length = b & 0x1f;
  else if (b === 0xd9) length = readUint(1);
  else if (b === 0xda) length = readUint(2);
  else if (b === 0xdb) length = readUint(4);
  else throw NOT_TRANSCODABLE;
  if (at + length > src.length) throw NOT_TRANSCODABLE;
  return length;
}

function bytesEqual(from: number, length: number, expected: Buffer): boolean {
  if (length !== expected.length) return false;
  for (let i = 0; i < length; i++) if (src[from + i] !== expected[i]) return false;
  return true;
}

const PROTO = Buffer.from('__proto__', 'latin1');
/**
 * A key the general path would write in the same place: not `__proto__`, and not all digits (a JS object puts
 * integer-like keys first, so a decoded map may come out reordered). Bodies made from JS objects never differ.
 */
function isPlainKey(from: number, length: number): boolean {
  if (length === 0) return true;
  if (bytesEqual(from, length, PROTO)) return false;
  for (let i = 0; i < length; i++) {
    const c = src[from + i]!;
    if (c < 0x30 || c > 0x39) return true;
  }
  return false;
}

/** `id` (the general path rejects an envelope with one: isEnvelope) and the leading keys (a repeat would be merged). */
const RESERVED_TOP_KEY_BYTES = [Buffer.from('id', 'latin1'), ...LEADING_KEY_BYTES];

/** A plain key that is none of the envelope's reserved top-level names. */
function isPlainTopKey(from: number, length: number): boolean {
  for (const reserved of RESERVED_TOP_KEY_BYTES) if (bytesEqual(from, length, reserved)) return false;
  return isPlainKey(from, length);
}

// Multi-byte numbers are read through one 8-byte scratch view: a DataView over each body would be an allocation per
// event (the receipt time is a float64 in every body).
const SCRATCH = new DataView(new ArrayBuffer(8));

/** The `bytes` bytes at `at` in the scratch view, from its start; `at` moves past them. */
function scratchOf(bytes: number): DataView {
  byteAt(at + bytes - 1);
  for (let i = 0; i < bytes; i++) SCRATCH.setUint8(i, src[at + i]!);
  at += bytes;
  return SCRATCH;
}

/** A number value (the receipt time): any msgpack int or float. */
function readNumber(): number {
  const b = byteAt(at++);
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc:
      return readUint(1);
    case 0xcd:
      return readUint(2);
    case 0xce:
      return readUint(4);
    case 0xcf:
      return readUint(8);
    case 0xd0: {
      const v = readUint(1);
      return v >= 0x80 ? v - 0x100 : v;
    }
    case 0xd1: {
      const v = readUint(2);
      return v >= 0x8000 ? v - 0x10000 : v;
    }
    case 0xd2: {
      const v = readUint(4);
      return v >= 0x80000000 ? v - 0x100000000 : v;
    }
    case 0xd3:
      return Number(scratchOf(8).getBigInt64(0));
    case 0xca:
      return scratchOf(4).getFloat32(0);
    case 0xcb:
      return scratchOf(8).getFloat64(0);
    default:
      throw NOT_TRANSCODABLE;
  }
}

/** Nested maps and arrays are bounded, as the general decoder's stack would be. */
const MAX_DEPTH = 64;

function transcodeValue(depth: number): void {
  if (depth > MAX_DEPTH) throw NOT_TRANSCODABLE;
  const b = byteAt(at);
  if ((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb) {
    const length = readStrHeader();
    copyJsonStringBytes(at, length);
    at += length;
    return;
  }
  if (b === 0xc0) {
    at++;
    writeAscii('null');
    return;
  }
  if (b === 0xc2) {
    at++;
    writeAscii('false');
    return;
  }
  if (b === 0xc3) {
    at++;
    writeAscii('true');
    return;
  }
  if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) {
    const n = readMapHeader();
    writeByte(0x7b); // {
    for (let i = 0; i < n; i++) {
      if (i > 0) writeByte(0x2c);
      // Keys of nested maps are strings in envelopes; any other key type goes the general way.
      const length = readStrHeader();
      if (!isPlainKey(at, length)) throw NOT_TRANSCODABLE;
      copyJsonStringBytes(at, length);
      at += length;
      writeByte(0x3a);
      transcodeValue(depth + 1);
    }
    writeByte(0x7d); // }
    return;
  }
  if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) {
    at++;
    const n = b <= 0x9f ? b & 0x0f : readUint(b === 0xdc ? 2 : 4);
    writeByte(0x5b); // [
    for (let i = 0; i < n; i++) {
      if (i > 0) writeByte(0x2c);
      transcodeValue(depth + 1);
    }
    writeByte(0x5d); // ]
    return;
  }
  const v = readNumber(); // throws for binary and extension types
  writeAscii(Number.isFinite(v) ? JSON.stringify(v) : 'null'); // as JSON.stringify writes NaN and ±Infinity
}

// ---------------------------------------------------------------------------------------------------------------
// Writing JSON

function ensure(bytes: number): void {
  if (pos + bytes <= out.length) return;
  const written = pos - start;
  const next = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, (written + bytes) * 2));
  out.copy(next, 0, start, pos);
  out = next;
  start = 0;
  pos = written;
}

function writeByte(b: number): void {
  ensure(1);
  out[pos++] = b;
}

function copyBytes(bytes: Buffer): void {
  ensure(bytes.length);
  const o = out;
  const p = pos;
  for (let i = 0; i < bytes.length; i++) o[p + i] = bytes[i]!;
  pos = p + bytes.length;
}

function writeAscii(text: string): void {
  ensure(text.length);
  // Locals, not the module bindings: every access to a module-level `let` is a context load with a hole check.
  const o = out;
  const p = pos;
  for (let i = 0; i < text.length; i++) o[p + i] = text.charCodeAt(i);
  pos = p + text.length;
}

function writeJsonString(text: string): void {
  const json = JSON.stringify(text);
  ensure(json.length * 3);
  pos += out.write(json, pos, 'utf8');
}

const HEX = '0123456789abcdef';

/**
 * A msgpack str's UTF-8 bytes as a JSON string: ASCII is copied and escaped as JSON.stringify escapes it; a string
 * with any byte >= 0x80 is decoded and stringified, so invalid UTF-8 and lone surrogates come out exactly as the
 * general path writes them.
 */
function copyJsonStringBytes(from: number, length: number): void {
  ensure(length * 6 + 2);
  const o = out;
  const s = src;
  const begin = pos;
  // The common string needs no escape: find its end of plain ASCII and copy that run natively.
  let i = 0;
  while (i < length) {
    const c = s[from + i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) break;
    i++;
  }
  o[begin] = 0x22;
  if (i === length) {
    copyRun(s, from, length, o, begin + 1);
    o[begin + 1 + length] = 0x22;
    pos = begin + length + 2;
    return;
  }
  if (s[from + i]! >= 0x80) {
    writeJsonString(Buffer.from(s.buffer, s.byteOffset + from, length).toString('utf8'));
    return;
  }
  // One pass over the rest: copy and escape ASCII; at the first byte >= 0x80, rewind and let the UTF-8 decoder do
  // the string.
  copyRun(s, from, i, o, begin + 1);
  let p = begin + 1 + i;
  for (; i < length; i++) {
    const c = s[from + i]!;
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x80) {
      o[p++] = c;
      continue;
    }
    if (c >= 0x80) {
      pos = begin;
      writeJsonString(Buffer.from(s.buffer, s.byteOffset + from, length).toString('utf8'));
      return;
    }
    o[p++] = 0x5c;
    switch (c) {
      case 0x22:
        o[p++] = 0x22;
        break;
      case 0x5c:
        o[p++] = 0x5c;
        break;
      case 0x08:
        o[p++] = 0x62;
        break; // \b
      case 0x0c:
        o[p++] = 0x66;
        break; // \f
      case 0x0a:
        o[p++] = 0x6e;
        break; // \n
      case 0x0d:
        o[p++] = 0x72;
        break; // \r
      case 0x09:
        o[p++] = 0x74;
        break; // \t
      default:
        o[p++] = 0x75;
        o[p++] = 0x30;
        o[p++] = 0x30; // \u00XX
        o[p++] = HEX.charCodeAt(c >> 4);
        o[p++] = HEX.charCodeAt(c & 15);
    }
  }
  o[p++] = 0x22;
  pos = p;
}

/** Below this many bytes a loop copies faster than the native copy, whose call and view cost more than the bytes. */
const NATIVE_COPY_MIN = 48;

function copyRun(from: Uint8Array, start: number, length: number, to: Buffer, at: number): void {
  if (length >= NATIVE_COPY_MIN) {
    to.set(from.subarray(start, start + length), at);
    return;
  }
  for (let i = 0; i < length; i++) to[at + i] = from[start + i]!;
}
