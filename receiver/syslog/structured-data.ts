// RFC 5424 6.3 STRUCTURED-DATA:
//   STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT
//   SD-ELEMENT      = "[" SD-ID *(SP SD-PARAM) "]"
//   SD-PARAM        = PARAM-NAME "=" %d34 PARAM-VALUE %d34
//   SD-ID, PARAM-NAME = 1*32 PRINTUSASCII except '=', SP, ']', '"'
// PARAM-VALUE is UTF-8 in which '"', '\' and ']' are escaped with '\'.

import type { StructuredData } from './syslog-message.js';
import { internedName } from './interned-names.js';
import { SyslogParseError, utf8Text } from './syslog-message.js';

const SP = 0x20;
const QUOTE = 0x22;
const NIL = 0x2d;
const EQUALS = 0x3d;
const OPEN = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE = 0x5d;
const SD_NAME_MAX = 32;

export interface StructuredDataRead {
  data: StructuredData | null;
  /** Index of the byte after STRUCTURED-DATA. */
  end: number;
}

/** Reads STRUCTURED-DATA at `pos`. Throws SyslogParseError('BAD_STRUCTURED_DATA'). */
export function readStructuredData(line: Buffer, pos: number): StructuredDataRead {
  if (line[pos] === NIL) return { data: null, end: pos + 1 };
  if (line[pos] !== OPEN) throw bad(`expected '[' or '-'`, pos);

  const data: StructuredData = {};
  while (line[pos] === OPEN) {
    let end = sdName(line, pos + 1, 'SD-ID');
    const id = internedName(line, pos + 1, end);
    // A repeated SD-ID is forbidden (6.3.2) but harmless to merge; failing would only lose the parse.
    let params = Object.hasOwn(data, id) ? data[id] : undefined;
    if (params === undefined) {
      params = {};
      setOwn(data, id, params);
    }
    pos = end;
    while (line[pos] === SP) {
      end = sdName(line, pos + 1, 'PARAM-NAME');
      if (line[end] !== EQUALS || line[end + 1] !== QUOTE) throw bad(`expected '="' after PARAM-NAME`, end);
      const name = internedName(line, pos + 1, end);
      pos = readParamValue(line, end + 2, params, name);
    }
    if (line[pos] !== CLOSE) throw bad(`expected ']' or SP SD-PARAM`, pos);
    pos++;
  }
  return { data, end: pos };
}

/** Scans an SD-NAME from `pos`; returns the index of the delimiter after it (checked by the caller). */
function sdName(line: Buffer, pos: number, what: string): number {
  // One table load per byte while the name lasts; the byte that stops the scan says why (a delimiter, a byte
  // outside printable US-ASCII, or the 33rd name byte). Measured: sdName was 10% of an SD line with four
  // comparisons per byte.
  const limit = Math.min(line.length, pos + SD_NAME_MAX);
  let i = pos;
  while (i < limit && SD_NAME_BYTE[line[i]!] === 1) i++;
  if (i < line.length) {
    const b = line[i]!;
    if (b !== SP && b !== EQUALS && b !== CLOSE && b !== QUOTE) {
      if (b < 0x21 || b > 0x7e) throw bad(`${what} has a byte outside printable US-ASCII`, i);
      throw bad(`${what} longer than ${SD_NAME_MAX} bytes`, i);
    }
  }
  if (i === pos) throw bad(`empty ${what}`, pos);
  return i;
}

/** 1 for the bytes of an SD-NAME: printable US-ASCII except '=', SP, ']' and '"'. Indexed by byte (0..255). */
const SD_NAME_BYTE = sdNameBytes();

function sdNameBytes(): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0x21; b <= 0x7e; b++) if (b !== EQUALS && b !== CLOSE && b !== QUOTE) table[b] = 1;
  return table;
}

/** Reads PARAM-VALUE from `pos` (after the opening quote) into `params`; returns the index after the closing quote. */
function readParamValue(line: Buffer, pos: number, params: Record<string, string | string[]>, name: string): number {
  let value = '';
  let segment = pos;
  for (let i = pos; i < line.length; i++) {
    const b = line[i]!;
    if (b === QUOTE) {
      // Segments split only at ASCII backslashes, never inside a UTF-8 sequence, so decoding piecewise is exact.
      // A value without escapes (segment still at pos) is its one segment, with no concatenation.
      const last = utf8Text(line, segment, i);
      addParam(params, name, segment === pos ? last : value + last);
      return i + 1;
    }
    if (b === BACKSLASH) {
      const next = line[i + 1];
      if (next === QUOTE || next === BACKSLASH || next === CLOSE) {
        value += utf8Text(line, segment, i);
        segment = i + 1;
        i++; // the escaped byte is literal: do not let it close the value or start another escape
      }
      // Any other '\x' stays as both bytes (6.3.3: an invalid escape is kept verbatim).
    }
    // An unescaped ']' is accepted: inside quotes it cannot be mistaken for the element's end, and many
    // senders forget to escape it.
  }
  throw bad('PARAM-VALUE has no closing quote', pos);
}

/** A PARAM-NAME repeated within one SD-ELEMENT keeps every value, in order. */
function addParam(params: Record<string, string | string[]>, name: string, value: string): void {
  if (!Object.hasOwn(params, name)) {
    setOwn(params, name, value);
    return;
  }
  const existing = params[name]!;
  if (typeof existing === 'string') params[name] = [existing, value];
  else existing.push(value);
}

// The names are the sender's. Plain objects (not null-prototype ones, which V8 keeps in slow dictionary mode)
// hold them the way JSON.parse would: `__proto__` becomes an own key instead of replacing the prototype, and
// an inherited name such as `toString` never reads as an earlier value (hence Object.hasOwn, never `in`).
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function bad(reason: string, offset: number): SyslogParseError {
  return SyslogParseError.of('BAD_STRUCTURED_DATA', `bad STRUCTURED-DATA: ${reason}`, offset);
}
