import type { DecodeResult } from '../../shared/errors/decode-result.js';
import { ForwardError } from './forward-errors.js';

/**
 * Finds where msgpack values end without decoding them: a TCP stream is cut into frames (one top-level value each)
 * before anything is allocated for their contents. A header that declares more bytes than the frame bound (a str32
 * of 4 GB) is refused as soon as its header is read, so nothing waits for, buffers or allocates it.
 *
 * Pure and socket-free, like vector's framing codecs: `push` answers the complete frames, "need more" (no frame yet)
 * and, when the stream broke, a typed ForwardError after the frames that were complete before the break.
 */

/** Byte range [start, end) of one msgpack value inside a buffer. */
export interface ValueRange {
  readonly start: number;
  readonly end: number;
}

interface Header {
  /** Bytes of the header itself (type byte and length field). */
  readonly headerBytes: number;
  /** Bytes of payload after the header (str, bin, ext, fixed-size numbers). */
  readonly payloadBytes: number;
  /** Child values that follow (array items; map keys plus values). */
  readonly children: number;
}

const NEED_MORE = null;

/** Reads the header at `pos`; null when the bytes of the header itself have not all arrived. */
function readHeader(buf: Uint8Array, pos: number, end: number): Header | null {
  const b = buf[pos]!;
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3)
    return { headerBytes: 1, payloadBytes: 0, children: 0 };
  if (b <= 0x8f) return { headerBytes: 1, payloadBytes: 0, children: 2 * (b & 0x0f) };
  if (b <= 0x9f) return { headerBytes: 1, payloadBytes: 0, children: b & 0x0f };
  if (b <= 0xbf) return { headerBytes: 1, payloadBytes: b & 0x1f, children: 0 };
  const len = (size: 1 | 2 | 4): number | null => {
    if (pos + 1 + size > end) return null;
    if (size === 1) return buf[pos + 1]!;
    if (size === 2) return (buf[pos + 1]! << 8) | buf[pos + 2]!;
    return buf[pos + 1]! * 0x1000000 + ((buf[pos + 2]! << 16) | (buf[pos + 3]! << 8) | buf[pos + 4]!);
  };
  const sized = (size: 1 | 2 | 4, extra: number, kind: 'payload' | 'items' | 'pairs'): Header | null => {
    const n = len(size);
    if (n === null) return NEED_MORE;
    if (kind === 'payload') return { headerBytes: 1 + size + extra, payloadBytes: n, children: 0 };
    return { headerBytes: 1 + size, payloadBytes: 0, children: kind === 'pairs' ? 2 * n : n };
  };
  switch (b) {
    case 0xc4:
      return sized(1, 0, 'payload'); // bin 8
    case 0xc5:
      return sized(2, 0, 'payload');
    case 0xc6:
      return sized(4, 0, 'payload');
    case 0xc7:
      return sized(1, 1, 'payload'); // ext 8: length, then the type byte
    case 0xc8:
      return sized(2, 1, 'payload');
    case 0xc9:
      return sized(4, 1, 'payload');
    case 0xca:
      return { headerBytes: 1, payloadBytes: 4, children: 0 }; // float 32
    case 0xcb:
      return { headerBytes: 1, payloadBytes: 8, children: 0 };
    case 0xcc:
    case 0xd0:
      return { headerBytes: 1, payloadBytes: 1, children: 0 };
    case 0xcd:
    case 0xd1:
      return { headerBytes: 1, payloadBytes: 2, children: 0 };
    case 0xce:
    case 0xd2:
      return { headerBytes: 1, payloadBytes: 4, children: 0 };
    case 0xcf:
    case 0xd3:
      return { headerBytes: 1, payloadBytes: 8, children: 0 };
    case 0xd4:
      return { headerBytes: 2, payloadBytes: 1, children: 0 }; // fixext 1: type byte, then data
    case 0xd5:
      return { headerBytes: 2, payloadBytes: 2, children: 0 };
    case 0xd6:
      return { headerBytes: 2, payloadBytes: 4, children: 0 };
    case 0xd7:
      return { headerBytes: 2, payloadBytes: 8, children: 0 };
    case 0xd8:
      return { headerBytes: 2, payloadBytes: 16, children: 0 };
    case 0xd9:
      return sized(1, 0, 'payload'); // str 8
    case 0xda:
      return sized(2, 0, 'payload');
    case 0xdb:
      return sized(4, 0, 'payload');
    case 0xdc:
      return sized(2, 0, 'items'); // array 16
    case 0xdd:
      return sized(4, 0, 'items');
    case 0xde:
      return sized(2, 0, 'pairs'); // map 16
    case 0xdf:
      return sized(4, 0, 'pairs');
    default: // 0xc1: never used
      throw new ForwardError('MSGPACK_INVALID', `byte 0x${b.toString(16)} at offset ${pos} is not a msgpack type`);
  }
}

export interface ScannerLimits {
  /** Largest frame (one top-level value) in bytes. */
  readonly maxFrameBytes: number;
  /** Deepest nesting of arrays and maps. */
  readonly maxDepth: number;
}

/**
 * Incremental frame finder for a byte stream. State survives between pushes (the scan position and the count of
 * values still open at each depth), so a frame that arrives in many TCP segments is scanned once, not once per
 * segment, and str/bin payloads are skipped without being read.
 */
export class MsgpackFrameScanner {
  private buf = Buffer.alloc(0);
  /** Bytes of `buf` that hold data. */
  private len = 0;
  /** Where the frame being scanned starts (frames before it were handed out during this push). */
  private base = 0;
  /** Where the next header starts; may pass `len` while a payload is still arriving. */
  private pos = 0;
  /** Values still to come in each open array or map (depth = stack length). */
  private readonly open: number[] = [];
  /** The frame's last value has been scanned; the frame ends at `pos` once those bytes are here. */
  private complete = false;
  /** Set once the stream is found broken: nothing after it can be framed. */
  private broken: ForwardError | null = null;

  constructor(private readonly limits: ScannerLimits) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.len - this.base;
  }

  /**
   * Appends bytes and returns every frame now complete, in order (each a copy the caller owns), and the error that
   * broke the stream, if any: frames before the break are still good (their chunks can be acked). The same contract
   * as the syslog frame decoder (DecodeResult).
   */
  push(chunk: Uint8Array): DecodeResult<ForwardError> {
    if (this.broken) return { frames: [], error: this.broken };
    this.append(chunk);
    const frames: Buffer[] = [];
    for (;;) {
      let end: number | null;
      try {
        end = this.scan();
      } catch (err) {
        this.broken = err instanceof ForwardError ? err : new ForwardError('MSGPACK_INVALID', (err as Error).message);
        return { frames, error: this.broken };
      }
      if (end === null) break;
      frames.push(Buffer.from(this.buf.subarray(this.base, end)));
      this.base = end;
      this.pos = end;
      this.complete = false;
    }
    if (this.base > 0) {
      // drop consumed frames once per push, not once per frame
      this.buf.copyWithin(0, this.base, this.len);
      this.len -= this.base;
      this.pos -= this.base;
      this.base = 0;
    }
    return { frames, error: null };
  }

  /** Scans on from `pos`; returns the end of a complete frame or null for "need more". */
  private scan(): number | null {
    const { maxFrameBytes, maxDepth } = this.limits;
    for (;;) {
      if (this.pos > this.len) return null; // a payload is still arriving
      if (this.complete) return this.pos;
      if (this.pos === this.len) return null;
      const h = readHeader(this.buf, this.pos, this.len);
      if (h === null) return null;
      const next = this.pos + h.headerBytes + h.payloadBytes;
      // Every child takes at least one byte: a declared count that cannot fit is refused at once, too.
      if (next + h.children - this.base > maxFrameBytes) {
        throw new ForwardError(
          'FRAME_TOO_LARGE',
          `a msgpack value declares more than the ${maxFrameBytes}-byte frame limit`,
        );
      }
      this.pos = next;
      if (h.children > 0) {
        if (this.open.length >= maxDepth)
          throw new ForwardError('MSGPACK_TOO_DEEP', `msgpack nesting deeper than ${maxDepth}`);
        this.open.push(h.children);
      } else {
        this.valueDone();
      }
    }
  }

  /** One value finished: count it against its container, closing every container it completes. */
  private valueDone(): void {
    for (;;) {
      const depth = this.open.length;
      if (depth === 0) {
        this.complete = true;
        return;
      }
      const left = this.open[depth - 1]! - 1;
      if (left > 0) {
        this.open[depth - 1] = left;
        return;
      }
      this.open.pop();
    }
  }

  private append(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const needed = this.len + chunk.byteLength;
    if (needed > this.buf.length) {
      // Doubling keeps appends amortised O(1); never beyond what one frame may need.
      const grown = Buffer.allocUnsafe(
        Math.max(needed, Math.min(this.buf.length * 2, this.limits.maxFrameBytes + chunk.byteLength), 4096),
      );
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = needed;
  }
}

/**
 * The end of the value starting at `start` in a complete buffer (a frame, or a PackedForward entry stream).
 * Throws MSGPACK_TRUNCATED when the value runs past `end`.
 */
export function valueEnd(buf: Uint8Array, start: number, end: number, maxDepth: number): number {
  let pos = start;
  let pending = 1; // values still to read
  let depth = 0;
  const closeAt: number[] = []; // pending count at which each open container is done
  while (pending > 0) {
    if (pos >= end) throw new ForwardError('MSGPACK_TRUNCATED', `msgpack value at offset ${start} is truncated`);
    const h = readHeader(buf, pos, end);
    if (h === null) throw new ForwardError('MSGPACK_TRUNCATED', `msgpack header at offset ${pos} is truncated`);
    pos += h.headerBytes + h.payloadBytes;
    pending -= 1;
    if (h.children > 0) {
      if (++depth > maxDepth) throw new ForwardError('MSGPACK_TOO_DEEP', `msgpack nesting deeper than ${maxDepth}`);
      closeAt.push(pending);
      pending += h.children;
    }
    while (closeAt.length > 0 && pending === closeAt[closeAt.length - 1]) {
      closeAt.pop();
      depth--;
    }
  }
  if (pos > end) throw new ForwardError('MSGPACK_TRUNCATED', `msgpack value at offset ${start} is truncated`);
  return pos;
}

/** Ranges of the elements of the array at `start` (its header must be an array). Null when it is not an array. */
export function arrayElementRanges(buf: Uint8Array, start: number, end: number, maxDepth: number): ValueRange[] | null {
  const count = containerCount(buf, start, end, 'array');
  if (count === null) return null;
  return childRanges(buf, start + count.headerBytes, end, count.n, maxDepth);
}

/** Key and value ranges of the map at `start`, as [key, value] pairs. Null when it is not a map. */
export function mapEntryRanges(
  buf: Uint8Array,
  start: number,
  end: number,
  maxDepth: number,
): [ValueRange, ValueRange][] | null {
  const count = containerCount(buf, start, end, 'map');
  if (count === null) return null;
  const flat = childRanges(buf, start + count.headerBytes, end, 2 * count.n, maxDepth);
  const pairs: [ValueRange, ValueRange][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

/** The bytes of a str or bin value without its header (raw: no UTF-8 decoding); null for any other type. */
export function rawBytesOf(buf: Uint8Array, range: ValueRange): Uint8Array | null {
  const b = buf[range.start]!;
  let header: number;
  if (b >= 0xa0 && b <= 0xbf) header = 1;
  else if (b === 0xd9 || b === 0xc4) header = 2;
  else if (b === 0xda || b === 0xc5) header = 3;
  else if (b === 0xdb || b === 0xc6) header = 5;
  else return null;
  return buf.subarray(range.start + header, range.end);
}

/** Whether the value at `range` is a msgpack str (as opposed to bin). */
export function isStr(buf: Uint8Array, range: ValueRange): boolean {
  const b = buf[range.start]!;
  return (b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb;
}

export function isNil(buf: Uint8Array, range: ValueRange): boolean {
  return buf[range.start] === 0xc0;
}

export function isArray(buf: Uint8Array, range: ValueRange): boolean {
  const b = buf[range.start]!;
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}

function containerCount(
  buf: Uint8Array,
  start: number,
  end: number,
  kind: 'array' | 'map',
): { n: number; headerBytes: number } | null {
  if (start >= end) return null;
  const b = buf[start]!;
  const [fixLow, fixHigh, c16, c32] = kind === 'array' ? [0x90, 0x9f, 0xdc, 0xdd] : [0x80, 0x8f, 0xde, 0xdf];
  if (b >= fixLow && b <= fixHigh) return { n: b & 0x0f, headerBytes: 1 };
  const h = b === c16 || b === c32 ? readHeader(buf, start, end) : null;
  if (h === null) return null;
  return { n: kind === 'map' ? h.children / 2 : h.children, headerBytes: h.headerBytes };
}

function childRanges(buf: Uint8Array, from: number, end: number, n: number, maxDepth: number): ValueRange[] {
  if (n > end - from)
    throw new ForwardError('MSGPACK_TRUNCATED', `container declares ${n} values in ${end - from} bytes`);
  const out: ValueRange[] = [];
  let pos = from;
  for (let i = 0; i < n; i++) {
    const e = valueEnd(buf, pos, end, maxDepth);
    out.push({ start: pos, end: e });
    pos = e;
  }
  return out;
}
