import { Encoder } from '@msgpack/msgpack';

/**
 * msgpack for flat records (the event envelope): a map whose values are mostly strings, null and integers. Written
 * by hand because this is the receiver's hottest path: a general encoder (msgpackr, @msgpack/msgpack) walks every
 * value generically and was the largest share of a receiver's CPU (profiles in bench/profiles/); this one copies each
 * key's precomputed header, copies short ASCII strings byte by byte and writes longer ones with one native UTF-8
 * write (compared with both libraries by `node dist/bench/record-packer.js`; figures in bench/README.md). Values of
 * other types (nested maps such as structured data, floats,
 * negative numbers, binary) are handed to @msgpack/msgpack and its bytes spliced in, so the output is plain msgpack that any
 * reader decodes to the same record: map keys in insertion order, `undefined` as nil.
 *
 * Records are packed one after another into a shared block; each result is a view of its own bytes, valid for as
 * long as the caller keeps it (a full block is left to its views and a new one started).
 */
const BLOCK_BYTES = 256 * 1024;
const nested = new Encoder();
const keyBytes = new Map<string, Buffer>();

let block = Buffer.allocUnsafe(BLOCK_BYTES);
let start = 0;
let pos = 0;

export function packRecord(value: object): Buffer {
  const record = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(record);
  if (keys.length > 0xffff) return Buffer.from(nested.encode(record));
  ensure(3); // then each key and value makes its own room (strings are measured before they are written)
  pos = writeMapHeader(block, pos, keys.length);
  for (const key of keys) {
    writeKey(key);
    writeValue(record[key]);
  }
  const out = block.subarray(start, pos);
  start = pos;
  return out;
}

/**
 * A msgpack array of these values (a compact body: `[schema, value…]`), written like a record's values: no names,
 * so nothing to look up per field.
 */
export function packTuple(values: readonly unknown[]): Uint8Array {
  const n = values.length;
  beginTuple(n);
  for (let i = 0; i < n; i++) writeValue(values[i]);
  return endTuple();
}

/**
 * A tuple written piece by piece, for a caller that knows its values without an array of them: beginTuple(count),
 * then exactly `count` values by tupleValue or tupleRun, then endTuple. The bytes are those packTuple writes for
 * the same values. Nothing else may pack in between (the pieces go to the shared block, synchronously).
 */
export function beginTuple(count: number): void {
  ensure(5);
  if (count < 16) block[pos++] = 0x90 | count;
  else if (count < 0x10000) {
    block[pos++] = 0xdc;
    block.writeUInt16BE(count, pos);
    pos += 2;
  } else {
    block[pos++] = 0xdd;
    block.writeUInt32BE(count, pos);
    pos += 4;
  }
}

/** One value of the tuple begun by beginTuple. */
export function tupleValue(value: unknown): void {
  writeValue(value);
}

/** Values already packed by packedValues (their bytes, copied): the same bytes as writing each of them. */
export function tupleRun(run: Uint8Array): void {
  copyBytes(run);
}

/** The tuple begun by beginTuple, as a view of its bytes (a plain Uint8Array: cheaper to make than a Buffer). */
export function endTuple(): Uint8Array {
  const out = new Uint8Array(block.buffer, block.byteOffset + start, pos - start);
  start = pos;
  return out;
}

/**
 * The bytes of these values as packTuple writes them, without the array header: for tupleRun, so values that
 * repeat from event to event (a receiver's id, a tag) are encoded once. At most 15 values (a one-byte header).
 */
export function packedValues(values: readonly unknown[]): Uint8Array {
  if (values.length > 15) throw new RangeError(`packedValues takes at most 15 values, got ${values.length}`);
  return packTuple(values).slice(1);
}

/** Makes room for `bytes` more bytes of the current record, moving it to a new block if the block is full. */
function ensure(bytes: number): void {
  if (pos + bytes <= block.length) return;
  const written = pos - start;
  const next = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, (written + bytes) * 2));
  block.copy(next, 0, start, pos);
  block = next;
  start = 0;
  pos = written;
}

function writeKey(key: string): void {
  let bytes = keyBytes.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(nested.encode(key));
    if (keyBytes.size < 1024) keyBytes.set(key, bytes); // field names, not data: bounded all the same
  }
  copyBytes(bytes);
}

/** A byte loop: for the few bytes of a key or a small nested value, TypedArray#set costs more than the copy. */
function copyBytes(bytes: Uint8Array): void {
  const n = bytes.length;
  ensure(n);
  if (n > 64) {
    block.set(bytes, pos);
    pos += n;
    return;
  }
  for (let i = 0; i < n; i++) block[pos + i] = bytes[i]!;
  pos += n;
}

function writeValue(value: unknown): void {
  if (typeof value === 'string') {
    writeString(value);
    return;
  }
  if (value === null || value === undefined) {
    ensure(1);
    block[pos++] = 0xc0;
    return;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    writeUint(value);
    return;
  }
  if (typeof value === 'boolean') {
    ensure(1);
    block[pos++] = value ? 0xc3 : 0xc2;
    return;
  }
  copyBytes(nested.encode(value));
}

function writeString(value: string): void {
  if (value.length < 32 && writeAscii(value)) return;
  // One native call: reserve the header for the longest the UTF-8 could be (3 bytes per UTF-16 unit), write, then
  // fill in the length. The header may be wider than the smallest that fits (str8 for a 20-byte string): msgpack
  // readers accept any width, and measuring the string first would cost a second pass over it.
  const bound = value.length * 3;
  ensure(bound + 5);
  const headerBytes = bound < 0x100 ? 2 : bound < 0x10000 ? 3 : 5;
  const length = block.write(value, pos + headerBytes, bound, 'utf8');
  if (headerBytes === 2) {
    block[pos] = 0xd9;
    block[pos + 1] = length;
  } else if (headerBytes === 3) {
    block[pos] = 0xda;
    block.writeUInt16BE(length, pos + 1);
  } else {
    block[pos] = 0xdb;
    block.writeUInt32BE(length, pos + 1);
  }
  pos += headerBytes + length;
}

/** Short ASCII strings (tags, names, ids) are copied char by char: cheaper than a call into the native writer. */
function writeAscii(value: string): boolean {
  const length = value.length;
  ensure(length + 1);
  const at = pos + 1;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) return false;
    block[at + i] = c;
  }
  block[pos] = 0xa0 | length;
  pos = at + length;
  return true;
}

function writeUint(value: number): void {
  ensure(9);
  if (value < 0x80) block[pos++] = value;
  else if (value < 0x100) {
    block[pos++] = 0xcc;
    block[pos++] = value;
  } else if (value < 0x10000) {
    block[pos++] = 0xcd;
    block.writeUInt16BE(value, pos);
    pos += 2;
  } else if (value < 0x100000000) {
    block[pos++] = 0xce;
    block.writeUInt32BE(value, pos);
    pos += 4;
  }
  // Past 32 bits a float64 (exact for safe integers): every JS reader decodes it as a number, while a uint64 comes
  // back as a BigInt from some (msgpackr's defaults).
  else {
    block[pos++] = 0xcb;
    block.writeDoubleBE(value, pos);
    pos += 8;
  }
}

function writeMapHeader(buf: Buffer, at: number, size: number): number {
  if (size < 16) {
    buf[at] = 0x80 | size;
    return at + 1;
  }
  buf[at] = 0xde;
  buf.writeUInt16BE(size, at + 1);
  return at + 3;
}
