import { Encoder } from '@msgpack/msgpack';
import { HEX_DIGITS as HEX } from './hex-digits.js';

/**
 * A msgpack writer for what a processed batch is made of (arrays, small non-negative integers, strings, binaries),
 * writing exactly the bytes @msgpack/msgpack's Encoder writes for the same values, into one Buffer of the exact
 * size. The worker writes a processed batch for every batch it decides: the Encoder counts and encodes every id
 * (all ASCII) character by character twice, grows its buffer and copies the result out, where this sizes the batch
 * first, allocates once and hands that Buffer to the publisher.
 *
 * Use: add every value's size with the `*Size` functions, allocate, then write the values in the same order.
 */

/** Strings that are not ASCII are rare here (tags, receiver ids): they go through the library, whose bytes we copy. */
const fallback = new Encoder();

/** The UTF-8 length of `s` when it is all ASCII, else -1. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
}

export function arraySize(length: number): number {
  return length < 16 ? 1 : length < 0x10000 ? 3 : 5;
}

export function uintSize(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x7f) throw new RangeError(`not a positive fixint: ${value}`);
  return 1;
}

export function strSize(s: string): number {
  const n = asciiLength(s);
  return n < 0 ? fallback.encode(s).byteLength : (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

export function binSize(length: number): number {
  return (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5) + length;
}

function isDigit(n: number): boolean {
  return n >= 0 && n <= 9 && Number.isInteger(n);
}

/** The size of `keyIdStr`'s string: the key in hex, `-` and the decimal count. */
export function keyIdSize(keyLength: number, count: number): number {
  const n = 2 * keyLength + 1 + (isDigit(count) ? 1 : String(count).length);
  return (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

export class MsgpackSizedWriter {
  private pos = 0;

  constructor(readonly buffer: Buffer) {}

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  array(length: number): void {
    const b = this.buffer;
    if (length < 16) b[this.pos++] = 0x90 + length;
    else if (length < 0x10000) {
      b[this.pos] = 0xdc;
      b.writeUInt16BE(length, this.pos + 1);
      this.pos += 3;
    } else {
      b[this.pos] = 0xdd;
      b.writeUInt32BE(length, this.pos + 1);
      this.pos += 5;
    }
  }

  /** Bytes already encoded (by the library, say), copied as they are. */
  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  /** A positive fixint (0…127), as the Encoder writes one. */
  uint(value: number): void {
    this.buffer[this.pos++] = value;
  }

  str(s: string): void {
    const n = asciiLength(s);
    const b = this.buffer;
    if (n < 0) {
      const bytes = fallback.encode(s);
      b.set(bytes, this.pos);
      this.pos += bytes.byteLength;
      return;
    }
    let p = this.pos;
    if (n < 32) b[p++] = 0xa0 + n;
    else if (n < 0x100) {
      b[p++] = 0xd9;
      b[p++] = n;
    } else if (n < 0x10000) {
      b[p] = 0xda;
      b.writeUInt16BE(n, p + 1);
      p += 3;
    } else {
      b[p] = 0xdb;
      b.writeUInt32BE(n, p + 1);
      p += 5;
    }
    for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
    this.pos = p + n;
  }

  /**
   * The string `<key bytes [from, from + length) in lowercase hex>-<count>` (a fanin event id, shared/event-key.ts),
   * written from the bytes: the same as `str` of that string, without making it.
   */
  keyIdStr(keys: Uint8Array, from: number, length: number, count: number): void {
    const digit = isDigit(count);
    const tail = digit ? '' : String(count);
    const n = 2 * length + 1 + (digit ? 1 : tail.length);
    const b = this.buffer;
    let p = this.pos;
    if (n < 32) b[p++] = 0xa0 + n;
    else if (n < 0x100) {
      b[p++] = 0xd9;
      b[p++] = n;
    } else {
      this.str(`${Buffer.from(keys.subarray(from, from + length)).toString('hex')}-${count}`);
      return;
    }
    for (let i = from; i < from + length; i++) {
      const v = keys[i]! << 1;
      b[p++] = HEX[v]!;
      b[p++] = HEX[v + 1]!;
    }
    b[p++] = 0x2d; // '-'
    if (digit) b[p++] = 0x30 + count;
    else for (let i = 0; i < tail.length; i++) b[p++] = tail.charCodeAt(i);
    this.pos = p;
  }

  bin(bytes: Uint8Array): void {
    const n = bytes.byteLength;
    const b = this.buffer;
    let p = this.pos;
    if (n < 0x100) {
      b[p++] = 0xc4;
      b[p++] = n;
    } else if (n < 0x10000) {
      b[p] = 0xc5;
      b.writeUInt16BE(n, p + 1);
      p += 3;
    } else {
      b[p] = 0xc6;
      b.writeUInt32BE(n, p + 1);
      p += 5;
    }
    b.set(bytes, p);
    this.pos = p + n;
  }
}
