// The parsed shape of one syslog line, shared by the RFC 5424 and RFC 3164 parsers and their callers, and the
// text of the line being parsed.


export type SyslogFormat = 'rfc5424' | 'rfc3164';

/**
 * SD-ID -> PARAM-NAME -> PARAM-VALUE. A PARAM-NAME repeated inside one SD-ELEMENT becomes an array, in order.
 * Plain objects shaped as JSON.parse would make them: the names come from the network, so a name such as
 * `__proto__` is an own key, never a prototype change. Read with Object.hasOwn, not `in`.
 */
export type StructuredData = Record<string, Record<string, string | string[]>>;

export interface SyslogMessage {
  format: SyslogFormat;
  /** 0..23 (PRI >> 3). */
  facility: number;
  /** 0..7 (PRI & 7). */
  severity: number;
  /** ISO 8601 in UTC ending in 'Z', with the fractional digits as sent (at most 6); null for NILVALUE or none. */
  time: string | null;
  /** null for NILVALUE '-' or when the sender left it out. */
  hostname: string | null;
  /** RFC 5424 APP-NAME, or the RFC 3164 TAG. */
  appName: string | null;
  /** RFC 5424 PROCID, or the RFC 3164 `[PID]`. */
  procId: string | null;
  msgId: string | null;
  structuredData: StructuredData | null;
  /** MSG decoded as UTF-8, BOM stripped; invalid bytes become U+FFFD, never dropped. */
  message: string;
}

/**
 * Stable codes: callers count and route on them, so never rename one. The set is open on purpose (the shared
 * interface says so), so that a catch-all such as 'INTERNAL' fits too.
 */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
export type SyslogParseErrorCode = 'EMPTY' | 'BAD_PRI' | 'BAD_VERSION' | 'BAD_TIMESTAMP' | 'BAD_HEADER' | 'BAD_STRUCTURED_DATA' | string;

/**
 * A line that is not valid syslog. Disposition: continue — the stream is fine, only this line is bad, and the
 * caller keeps its raw text (format 'raw'), so nothing is lost.
 */
export class SyslogParseError extends Error {
  override readonly name = 'SyslogParseError';
  readonly code: SyslogParseErrorCode;
  /** Byte offset in the line where parsing failed. */
  readonly offset: number;

  constructor(code: SyslogParseErrorCode, message: string, offset: number) {
    // A bad line is data, not a bug: a stack trace would say nothing and capturing one costs more than the parse.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${message} (at byte ${offset})`);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.offset = offset;
  }

  /**
   * The parsers' own way to make one: the same fields without running Error's constructor, which costs a
   * hundred times more than the parse of the line (it has no stack, which says nothing about a bad line anyway).
   */
  static of(code: SyslogParseErrorCode, message: string, offset: number): SyslogParseError {
    const err = Object.create(SyslogParseError.prototype) as { -readonly [K in keyof SyslogParseError]: SyslogParseError[K] };
    err.name = 'SyslogParseError';
    err.message = `${message} (at byte ${offset})`;
    err.code = code;
    err.offset = offset;
    return err;
  }
}

export type SyslogParseResult = { ok: true; message: SyslogMessage } | { ok: false; error: SyslogParseError };

// How the RFC 5424 reader reports a bad line: it records the error here and returns a failure value (-1 or null)
// up to parseSyslog, which takes it. A thrown error would say the same, but V8 walks the stack on every throw to
// place its message: a line that is not syslog cost ~2 us more than one that is, most of it in the throw.
let recordedError: SyslogParseError | null = null;

/** Records why the line is bad, for parseSyslog to take; returns -1 so that readers can `return fail(...)`. */
export function fail(code: SyslogParseErrorCode, message: string, offset: number): -1 {
  recordedError = SyslogParseError.of(code, message, offset);
  return -1;
}

/** The error fail() recorded for this line, and forgets it. */
export function takeError(): SyslogParseError {
  const err = recordedError ?? SyslogParseError.of('INTERNAL', 'syslog parser bug: a failure without an error', 0);
  recordedError = null;
  return err;
}

// One decode per line: when every byte of the line decodes to exactly one UTF-16 unit (ASCII, or bytes that are
// not UTF-8 at all and become U+FFFD one by one), byte offsets are string offsets, so each field is a substring
// of one decoded string rather than a decode of its own, which cost most of the parse time. That holds exactly
// when the decoded length equals the byte length, because no UTF-8 sequence decodes to more units than it has
// bytes. parseSyslog brackets every parse with beginLine/endLine; other lines decode per field.
//
// A line with UTF-8 in it (a BOM before MSG, as RFC 5424 asks, or accented text) still has byte offsets equal to
// string offsets up to its first non-ASCII byte: the header and STRUCTURED-DATA are usually all before it, so
// they are substrings too, and MSG is a substring whenever it starts at or before that byte (UTF-8 resynchronises
// at every ASCII byte, so the decode of the whole line from there is the decode of MSG alone). Measured on the
// corpus's 9 such lines: each field decoded on its own costs a Buffer#toString call (~60 ns) instead of a slice.
let textLine: Buffer | null = null;
let lineText = '';
/** Bytes [0, asciiEnd) of textLine have string offsets equal to byte offsets: all of it for a one-unit-per-byte line. */
let asciiEnd = 0;

/** Called by parseSyslog before parsing `line`. */
export function beginLine(line: Buffer): void {
  const length = line.length;
  const text = utf8Slice.call(line, 0, length);
  textLine = line;
  lineText = text;
  asciiEnd = text.length === length ? length : asciiPrefix(line);
}

/**
 * Buffer's UTF-8 decoder itself, which toString() calls after a lookup on the prototype chain and a check of its
 * arguments. Per parsed line (paired rounds over the corpus, CPU time), toString() measured 0.975x of this on
 * Node 20 and 0.964x on Node 24, although a bare decode loop times toString() faster on Node 22 and 24: measure a
 * change here in the parser, not alone. utf8Slice is on Buffer.prototype in every Node release this supports (20
 * to 24) but not in @types/node; a runtime without it gets toString.
 */
const utf8Slice: (this: Buffer, start: number, end: number) => string =
  (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice
  ?? function utf8SliceFallback(this: Buffer, start: number, end: number): string { return this.toString('utf8', start, end); };

/** Called by parseSyslog after parsing, so the module keeps no reference to the line. */
export function endLine(): void {
  textLine = null;
  lineText = '';
}

/** Length of the run of ASCII bytes that starts the line. */
function asciiPrefix(line: Buffer): number {
  let i = 0;
  const length = line.length;
  while (i < length && line[i]! < 0x80) i++;
  return i;
}

// Peeking ahead: the readers look at bytes past a field without a length check, written `(line[i] ?? 0) === SP`.
// A comparison that has once seen the `undefined` of a read past the end (any line that ends there) is compiled
// to a call of V8's generic equality builtin for good, on every line after it; with a number on both sides it
// stays one instruction. Measured on the corpus: 1.063x on RFC 3164 lines (paired rounds, CPU time). A helper
// function for it measured 0.92x: ninety inlined copies used up TurboFan's inlining budget for the larger readers.
// (0 is a NUL byte, which no reader looks for.)

// fieldText and utf8Text are called from nearly every field reader: each is a test and a slice, with the rarer
// decode in a function of its own, so that their bytecode is smaller and more of their call sites fit in the
// callers' inlining budget. Measured on the corpus (paired rounds, CPU time): median 1.03x over five runs.

/** Bytes [start, end) of a field already checked to be US-ASCII (or read as latin1 by design). */
export function fieldText(line: Buffer, start: number, end: number): string {
  return line === textLine && end <= asciiEnd ? lineText.slice(start, end) : latin1Text(line, start, end);
}

function latin1Text(line: Buffer, start: number, end: number): string {
  return line.toString('latin1', start, end);
}

/** Index of the ASCII `needle` in the line at or after `from`, or -1; on the decoded text when there is one. */
export function indexOfText(line: Buffer, needle: string, from: number): number {
  return line === textLine && asciiEnd === line.length ? lineText.indexOf(needle, from) : line.indexOf(needle, from, 'latin1');
}

/**
 * The decoded text of `line` when it is the line being parsed, else null. Its offsets are byte offsets below
 * textAsciiEnd(), so a reader can search it with String#indexOf (a builtin, no call into the runtime) and cut
 * fields from it.
 */
export function currentText(line: Buffer): string | null {
  return line === textLine ? lineText : null;
}

/** Where currentText's offsets stop being byte offsets: the line's length for a one-unit-per-byte line. */
export function textAsciiEnd(): number {
  return asciiEnd;
}

/** Bytes [start, end) decoded as UTF-8 (invalid sequences become U+FFFD). */
export function utf8Text(line: Buffer, start: number, end: number): string {
  return line === textLine && end <= asciiEnd ? lineText.slice(start, end) : decodeUtf8(line, start, end);
}

function decodeUtf8(line: Buffer, start: number, end: number): string {
  return line.toString('utf8', start, end);
}

/**
 * MSG from `start` to the end of the line, as `message` promises: a leading UTF-8 BOM (RFC 5424 6.4) is
 * dropped, and Buffer's UTF-8 decoder turns each invalid sequence into U+FFFD, so no byte vanishes unseen.
 */
export function decodeMsg(line: Buffer, start: number): string {
  if (start >= line.length) return '';
  const bom = (line[start] ?? 0) === 0xef && (line[start + 1] ?? 0) === 0xbb && (line[start + 2] ?? 0) === 0xbf;
  // Every byte before `start` is ASCII, so string offset `start` is where MSG's text starts (and a BOM there is
  // the one unit U+FEFF).
  if (line === textLine && start <= asciiEnd) return lineText.slice(bom ? start + 1 : start);
  if (bom) start += 3;
  return start >= line.length ? '' : line.toString('utf8', start);
}
