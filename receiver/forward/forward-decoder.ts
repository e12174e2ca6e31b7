import { Decoder } from '@msgpack/msgpack';
import { forwardExtensionCodec, parseForwardTime } from './event-time.js';
import { ForwardError } from './forward-errors.js';
import { gunzipMembersSync } from './forward-gzip.js';
import {
  arrayElementRanges,
  isArray,
  isNil,
  isStr,
  mapEntryRanges,
  rawBytesOf,
  valueEnd,
  type ValueRange,
} from './msgpack-scanner.js';

/**
 * The Forward protocol's event messages (spec v1, v1.5), from one frame's bytes to entries. Pure: no socket, no
 * clock, no I/O, so every mode is tested byte for byte.
 *
 *   Message                  [tag, time, record, option?]
 *   Forward                  [tag, [[time, record], …], option?]
 *   PackedForward            [tag, str|bin (a msgpack stream of [time, record]), option?]
 *   CompressedPackedForward  [tag, bin (gzip of such a stream, one or more members), {compressed: "gzip", …}]
 *   heartbeat                nil
 *
 * The mode is told by the second element, as the spec says: an array is Forward (or, when its first item is not an
 * array, a v1.5 Message time `[time, metadata]`), a str or bin is PackedForward, anything else is Message. Options:
 * `chunk` (the ack id, kept as its exact bytes), `size` (a hint only: fluent-logger 3 sends the byte size there, not
 * the count), `compressed` ("gzip"; "text" from fluent-logger means none). fluent-bit's `fluent_signal` must be 0
 * (logs): metrics and traces payloads are not event entries.
 */

export type ForwardMode = 'message' | 'forward' | 'packed_forward' | 'compressed_packed_forward';

export interface ForwardLimits {
  /** Largest message on the wire (one msgpack value). */
  readonly maxFrameBytes: number;
  /** Largest inflated CompressedPackedForward payload. */
  readonly maxDecompressedBytes: number;
  /** Most events in one message. */
  readonly maxEvents: number;
  /** Deepest nesting of arrays and maps in a message (records and the envelope must stay encodable). */
  readonly maxDepth: number;
}

export interface ForwardEntry {
  /** ISO 8601 UTC with nanoseconds, or null when the sender gave no time. */
  readonly time: string | null;
  /** v1.5 metadata, or null. */
  readonly metadata: Record<string, unknown> | null;
  readonly record: Record<string, unknown>;
}

export interface ForwardOptions {
  /** The `chunk` value's exact msgpack bytes (str or bin, header included): echoed in the ack, keyed for dedup. */
  readonly chunk: Uint8Array | null;
  /** The `size` hint as sent, or null. */
  readonly size: number | null;
  readonly compressed: 'gzip' | null;
}

export interface ForwardEvents {
  readonly kind: 'events';
  readonly mode: ForwardMode;
  readonly tag: string;
  readonly entries: ForwardEntry[];
  /** Entries left out (record nil), counted by the caller. */
  readonly skipped: number;
  readonly options: ForwardOptions;
}

/** A CompressedPackedForward message whose entries still need inflating (the caller does it off the event loop). */
export interface ForwardCompressed {
  readonly kind: 'compressed';
  readonly tag: string;
  readonly payload: Uint8Array;
  readonly options: ForwardOptions;
}

export type ForwardFrame = { readonly kind: 'heartbeat' } | ForwardEvents | ForwardCompressed;

/** A decoder per limit set: msgpack length limits set explicitly, never the library's 4 GB defaults. */
export function createPartDecoder(limits: ForwardLimits): Decoder {
  const max = Math.max(limits.maxFrameBytes, limits.maxDecompressedBytes);
  return new Decoder({
    extensionCodec: forwardExtensionCodec,
    maxStrLength: max,
    maxBinLength: max,
    maxExtLength: max,
    maxArrayLength: max,
    maxMapLength: max,
    mapKeyConverter: (key: unknown) => {
      if (typeof key === 'string' || typeof key === 'number') return key;
      if (key instanceof Uint8Array) return Buffer.from(key).toString('utf8');
      if (key === null || typeof key === 'boolean') return String(key);
      throw new ForwardError('BAD_MESSAGE', 'a map key is an array, map or extension');
    },
  });
}

/** Decodes one frame (a complete msgpack value as cut by MsgpackFrameScanner). Throws ForwardError. */
export function decodeForwardFrame(
  frame: Uint8Array,
  limits: ForwardLimits,
  decoder = createPartDecoder(limits),
): ForwardFrame {
  if (frame.byteLength === 0) throw new ForwardError('BAD_MESSAGE', 'empty frame');
  if (frame.byteLength === 1 && frame[0] === 0xc0) return { kind: 'heartbeat' };
  const whole: ValueRange = { start: 0, end: frame.byteLength };
  if (!isArray(frame, whole)) {
    // in_forward also takes JSON when the first byte is `[` or `{`; in msgpack those are small integers.
    if (frame.byteLength === 1 && (frame[0] === 0x5b || frame[0] === 0x7b)) {
      throw new ForwardError('JSON_UNSUPPORTED', 'JSON Forward messages are not supported; send msgpack');
    }
    throw new ForwardError('BAD_MESSAGE', 'a Forward message must be a msgpack array or nil');
  }
  const parts = arrayElementRanges(frame, 0, frame.byteLength, limits.maxDepth)!;
  if (parts.length < 2 || parts.length > 4)
    throw new ForwardError('BAD_MESSAGE', `a Forward message has 2 to 4 elements, not ${parts.length}`);
  const tag = decodeTag(frame, parts[0]!, decoder);
  const second = parts[1]!;

  if (isArray(frame, second) && !isV15MessageTime(frame, second, limits)) {
    if (parts.length > 3) throw new ForwardError('BAD_MESSAGE', 'a Forward mode message has 2 or 3 elements');
    const options = decodeOptions(frame, parts[2], decoder, limits);
    const count = arrayElementRanges(frame, second.start, second.end, limits.maxDepth)!.length;
    checkCount(count, limits);
    const raw = decodePart(frame, second, decoder);
    const { entries, skipped } = toEntries(raw as unknown[]);
    return { kind: 'events', mode: 'forward', tag, entries, skipped, options };
  }

  const packed = rawBytesOf(frame, second);
  if (packed !== null) {
    if (parts.length > 3) throw new ForwardError('BAD_MESSAGE', 'a PackedForward message has 2 or 3 elements');
    const options = decodeOptions(frame, parts[2], decoder, limits);
    if (options.compressed === 'gzip') return { kind: 'compressed', tag, payload: packed, options };
    const { entries, skipped } = decodeEntryStream(packed, limits, decoder);
    return { kind: 'events', mode: 'packed_forward', tag, entries, skipped, options };
  }

  if (parts.length < 3) throw new ForwardError('BAD_MESSAGE', 'a Message mode message has 3 or 4 elements');
  const options = decodeOptions(frame, parts[3], decoder, limits);
  if (options.compressed !== null) throw new ForwardError('BAD_OPTION', 'Message mode cannot be compressed');
  const { time, metadata } = parseForwardTime(decodePart(frame, second, decoder));
  const record = decodePart(frame, parts[2]!, decoder);
  if (record === null) return { kind: 'events', mode: 'message', tag, entries: [], skipped: 1, options };
  return {
    kind: 'events',
    mode: 'message',
    tag,
    entries: [{ time, metadata, record: asRecord(record) }],
    skipped: 0,
    options,
  };
}

/** Completes a CompressedPackedForward message with its inflated payload. */
export function decodeInflated(
  message: ForwardCompressed,
  inflated: Uint8Array,
  limits: ForwardLimits,
  decoder = createPartDecoder(limits),
): ForwardEvents {
  const { entries, skipped } = decodeEntryStream(inflated, limits, decoder);
  return {
    kind: 'events',
    mode: 'compressed_packed_forward',
    tag: message.tag,
    entries,
    skipped,
    options: message.options,
  };
}

/** Decodes a frame all the way, inflating synchronously: the whole codec in one call, for tests and tools. */
export function decodeForwardFrameSync(
  frame: Uint8Array,
  limits: ForwardLimits,
): ForwardEvents | { kind: 'heartbeat' } {
  const decoder = createPartDecoder(limits);
  const decoded = decodeForwardFrame(frame, limits, decoder);
  if (decoded.kind !== 'compressed') return decoded;
  return decodeInflated(decoded, gunzipMembersSync(decoded.payload, limits.maxDecompressedBytes), limits, decoder);
}

/** The ack for a chunk: `{"ack": <chunk>}` with the chunk's bytes exactly as received (str stays str, bin stays bin). */
export function encodeAck(chunk: Uint8Array): Buffer {
  return Buffer.concat([ACK_PREFIX, chunk]);
}
const ACK_PREFIX = Buffer.from([0x81, 0xa3, 0x61, 0x63, 0x6b]); // fixmap(1), fixstr "ack"

/** A PackedForward entry stream: msgpack [time, record] values back to back, nothing after the last. */
export function decodeEntryStream(
  stream: Uint8Array,
  limits: ForwardLimits,
  decoder: Decoder,
): { entries: ForwardEntry[]; skipped: number } {
  const ranges: ValueRange[] = [];
  let pos = 0;
  while (pos < stream.byteLength) {
    const end = valueEnd(stream, pos, stream.byteLength, limits.maxDepth);
    ranges.push({ start: pos, end });
    checkCount(ranges.length, limits);
    pos = end;
  }
  return toEntries(ranges.map((r) => decodePart(stream, r, decoder)));
}

function toEntries(raw: unknown[]): { entries: ForwardEntry[]; skipped: number } {
  const entries: ForwardEntry[] = [];
  let skipped = 0;
  for (const e of raw) {
    if (!Array.isArray(e) || e.length !== 2) throw new ForwardError('BAD_MESSAGE', 'an entry is not [time, record]');
    const { time, metadata } = parseForwardTime(e[0]);
    if (e[1] === null) {
      skipped++;
      continue;
    }
    entries.push({ time, metadata, record: asRecord(e[1]) });
  }
  return { entries, skipped };
}

function asRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ForwardError('BAD_MESSAGE', 'a record is not a map');
  }
  return value as Record<string, unknown>;
}

function decodeTag(frame: Uint8Array, range: ValueRange, decoder: Decoder): string {
  const raw = rawBytesOf(frame, range);
  if (raw === null) throw new ForwardError('BAD_MESSAGE', 'the tag is not a string');
  if (isStr(frame, range)) return decodePart(frame, range, decoder) as string;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw); // a bin tag from an old msgpack "raw" sender
  } catch {
    throw new ForwardError('BAD_MESSAGE', 'the tag is not UTF-8');
  }
}

/** `[time, {metadata}]` in the second slot is a v1.5 Message time, not Forward entries (whose items are arrays). */
function isV15MessageTime(frame: Uint8Array, second: ValueRange, limits: ForwardLimits): boolean {
  const items = arrayElementRanges(frame, second.start, second.end, limits.maxDepth)!;
  return (
    items.length === 2 &&
    !isArray(frame, items[0]!) &&
    frame[items[1]!.start]! >= 0x80 &&
    (frame[items[1]!.start]! <= 0x8f || frame[items[1]!.start] === 0xde || frame[items[1]!.start] === 0xdf)
  );
}

function decodeOptions(
  frame: Uint8Array,
  range: ValueRange | undefined,
  decoder: Decoder,
  limits: ForwardLimits,
): ForwardOptions {
  const none: ForwardOptions = { chunk: null, size: null, compressed: null };
  if (range === undefined || isNil(frame, range)) return none;
  const pairs = mapEntryRanges(frame, range.start, range.end, limits.maxDepth);
  if (pairs === null) throw new ForwardError('BAD_OPTION', 'option is not a map');
  let chunk: Uint8Array | null = null;
  let size: number | null = null;
  let compressed: 'gzip' | null = null;
  for (const [k, v] of pairs) {
    const key = decodePart(frame, k, decoder);
    if (key === 'chunk') {
      if (rawBytesOf(frame, v) === null) throw new ForwardError('BAD_OPTION', 'chunk is not a string');
      chunk = frame.slice(v.start, v.end);
    } else if (key === 'size') {
      const n = decodePart(frame, v, decoder);
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
        throw new ForwardError('BAD_OPTION', 'size is not a count');
      size = n;
    } else if (key === 'compressed') {
      const c = decodePart(frame, v, decoder);
      if (c === 'gzip') compressed = 'gzip';
      else if (c !== 'text' && c !== null)
        throw new ForwardError(
          'UNSUPPORTED_COMPRESSION',
          `compressed ${JSON.stringify(c) ?? 'value'} is not supported (gzip is)`,
        );
    } else if (key === 'fluent_signal') {
      const s = decodePart(frame, v, decoder);
      if (s !== 0)
        throw new ForwardError(
          'BAD_MESSAGE',
          `fluent_signal ${String(s)}: only logs (0) are accepted, not metrics or traces`,
        );
    }
  }
  return { chunk, size, compressed };
}

function checkCount(count: number, limits: ForwardLimits): void {
  if (count > limits.maxEvents)
    throw new ForwardError('TOO_MANY_EVENTS', `more than ${limits.maxEvents} events in one message`);
}

function decodePart(bytes: Uint8Array, range: ValueRange, decoder: Decoder): unknown {
  try {
    return decoder.decode(bytes.subarray(range.start, range.end));
  } catch (err) {
    if (err instanceof ForwardError) throw err;
    throw new ForwardError('MSGPACK_INVALID', `msgpack does not decode: ${(err as Error).message}`);
  }
}
