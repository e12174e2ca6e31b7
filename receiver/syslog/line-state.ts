// The state of the line being parsed, in one place: the line, its decoded text, and every result one reader leaves
// for another (the recorded error, whether the last word was a HOSTNAME, where a TAG's name ended, the
// STRUCTURED-DATA reader's positions). Readers return one number (an index, or -1) and leave anything else here,
// rather than allocate a result object per call.
//
// Lifecycle: parseSyslog calls beginLine(line) before it reads a byte and endLine() in a `finally` after the last,
// so the fields are valid from beginLine to endLine and belong to that line only. beginLine resets every field, so
// no reader sees a value from an earlier line; endLine drops the line and its text, so the module keeps no
// reference to them between lines. Parsing is synchronous (no await between beginLine and endLine), so one instance
// serves every line; a reader that sets a field says which function reads it, and each field's comment below names
// both. Caches that outlive a line (the interned names, the remembered year) are not here: they are valid for any
// line.
//
// Text: parseSyslog decodes the line once. When every byte decodes to exactly one UTF-16 unit (ASCII, or bytes that
// are not UTF-8 at all and become U+FFFD one by one), byte offsets are string offsets, so each field is a substring
// of that one decoded string rather than a decode of its own. That holds exactly when the decoded length equals the
// byte length, because no UTF-8 sequence decodes to more units than it has bytes. A line with UTF-8 in it (a BOM
// before MSG, accented text) still has byte offsets equal to string offsets up to its first non-ASCII byte: the
// header and STRUCTURED-DATA are usually all before it, so they are substrings too, and MSG is a substring whenever
// it starts at or before that byte (UTF-8 resynchronises at every ASCII byte). Other buffers decode per field.

import { SyslogParseError, type SyslogParseErrorCode } from './syslog-message.js';

// The line and its text are read by every field reader (fieldText, utf8Text, decodeMsg below), so they are
// module bindings of their own, which measured faster than fields of LINE on that path; only this module writes
// them, and other modules read them through currentText() and textAsciiEnd().
/** The line between beginLine and endLine, else null. */
let lineBytes: Buffer | null = null;
/** The line decoded as UTF-8 (beginLine). */
let lineText = '';
/** Bytes [0, asciiEnd) have string offsets equal to byte offsets: the whole line for a one-unit-per-byte line. */
let asciiEnd = 0;

class LineState {
  /** Why the line is bad: set by fail(), read by takeError() in parseSyslog. */
  error: SyslogParseError | null = null;
  /** Whether the word hostTokenEnd (syslog-bytes.ts) scanned last is a HOSTNAME; read by the RFC 3164 readers. */
  hostWord = false;
  /** Where readTag's TAG name ended (before `[PID]` or ':'); read by its callers in rfc3164.ts. */
  tagNameEnd = 0;
  /** STRUCTURED-DATA reader (structured-data.ts): `text` while it reads, or null when the line has none. */
  sdText: string | null = null;
  /** How far sdText's offsets are byte offsets. */
  sdTextEnd = 0;
  /** Index of the first backslash at or after the value being read, NO_ESCAPE when none, -1 before the first look. */
  escapeAt = -1;
  /** The end and table slot of the name readName returned last. */
  nameEnd = 0;
  nameSlot = 0;
  /** The index after the closing quote of the value readParamValue returned last. */
  valueEnd = 0;
  /** The index after the STRUCTURED-DATA readElements read last. */
  sdEnd = 0;
  /** The slot of the name internedName (interned-names.ts) returned last; read through lastSlot(). */
  internedSlot = 0;
}

/** The one instance: see the lifecycle above. */
export const LINE = new LineState();

/** escapeAt when the rest of the line has no backslash. */
export const NO_ESCAPE = 0x3fffffff;

/** Called by parseSyslog before parsing `line`: decodes it and resets every field. */
export function beginLine(line: Buffer): void {
  const length = line.length;
  const text = utf8Slice.call(line);
  lineBytes = line;
  lineText = text;
  asciiEnd = text.length === length ? length : asciiPrefix(line);
  const s = LINE;
  s.error = null;
  s.hostWord = false;
  s.tagNameEnd = 0;
  s.sdText = null;
  s.sdTextEnd = 0;
  s.escapeAt = -1;
  s.nameEnd = 0;
  s.nameSlot = 0;
  s.valueEnd = 0;
  s.sdEnd = 0;
}

/** Called by parseSyslog after parsing, so the module keeps no reference to the line or its text. */
export function endLine(): void {
  lineBytes = null;
  lineText = '';
  LINE.sdText = null;
}

/**
 * Buffer's UTF-8 decoder itself, which toString() calls after a lookup on the prototype chain and a check of its
 * arguments; measured faster in the parser on Node 20 and 24 (although a bare decode loop times toString() faster
 * on Node 22 and 24: measure a change here in the parser, not alone). utf8Slice is on Buffer.prototype in every
 * Node release this supports but not in @types/node; a runtime without it gets toString. Called without start and
 * end, it decodes the whole buffer without converting two arguments to indices first.
 */
const utf8Slice: (this: Buffer) => string =
  (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer) => string }).utf8Slice ??
  function utf8SliceFallback(this: Buffer): string {
    return this.toString('utf8');
  };

/** Length of the run of ASCII bytes that starts the line. */
function asciiPrefix(line: Buffer): number {
  let i = 0;
  const length = line.length;
  while (i < length && line[i]! < 0x80) i++;
  return i;
}

// How a reader reports a bad line: it records the error here and returns a failure value (-1 or null) up to
// parseSyslog, which takes it. A thrown error would say the same, but V8 walks the stack on every throw to place
// its message, which costs more than parsing the line.

/** Records why the line is bad, for parseSyslog to take; returns -1 so that readers can `return fail(...)`. */
export function fail(code: SyslogParseErrorCode, message: string, offset: number): -1 {
  LINE.error = SyslogParseError.of(code, message, offset);
  return -1;
}

/** The error fail() recorded for this line, and forgets it. */
export function takeError(): SyslogParseError {
  const err = LINE.error ?? SyslogParseError.of('INTERNAL', 'syslog parser bug: a failure without an error', 0);
  LINE.error = null;
  return err;
}

// fieldText and utf8Text are called from nearly every field reader: each is a test and a slice, with the rarer
// decode in a function of its own, so that their bytecode is smaller and more of their call sites fit in the
// callers' inlining budget.

/** Bytes [start, end) of a field already checked to be US-ASCII (or read as latin1 by design). */
export function fieldText(line: Buffer, start: number, end: number): string {
  return line === lineBytes && end <= asciiEnd ? lineText.slice(start, end) : latin1Text(line, start, end);
}

function latin1Text(line: Buffer, start: number, end: number): string {
  return line.toString('latin1', start, end);
}

/** Bytes [start, end) decoded as UTF-8 (invalid sequences become U+FFFD). */
export function utf8Text(line: Buffer, start: number, end: number): string {
  return line === lineBytes && end <= asciiEnd ? lineText.slice(start, end) : decodeUtf8(line, start, end);
}

function decodeUtf8(line: Buffer, start: number, end: number): string {
  return line.toString('utf8', start, end);
}

/** Index of the ASCII `needle` in the line at or after `from`, or -1; on the decoded text when there is one. */
export function indexOfText(line: Buffer, needle: string, from: number): number {
  return line === lineBytes && asciiEnd === line.length
    ? lineText.indexOf(needle, from)
    : line.indexOf(needle, from, 'latin1');
}

/**
 * The decoded text of `line` when it is the line being parsed, else null. Its offsets are byte offsets below
 * textAsciiEnd(), so a reader can search it with String#indexOf (a builtin, no call into the runtime) and cut
 * fields from it.
 */
export function currentText(line: Buffer): string | null {
  return line === lineBytes ? lineText : null;
}

/** Where currentText's offsets stop being byte offsets: the line's length for a one-unit-per-byte line. */
export function textAsciiEnd(): number {
  return asciiEnd;
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
  if (line === lineBytes && start <= asciiEnd) return lineText.slice(bom ? start + 1 : start);
  if (bom) start += 3;
  return start >= line.length ? '' : line.toString('utf8', start);
}
