// RFC 5424 6.3 STRUCTURED-DATA:
//   STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT
//   SD-ELEMENT      = "[" SD-ID *(SP SD-PARAM) "]"
//   SD-PARAM        = PARAM-NAME "=" %d34 PARAM-VALUE %d34
//   SD-ID, PARAM-NAME = 1*32 PRINTUSASCII except '=', SP, ']', '"'
// PARAM-VALUE is UTF-8 in which '"', '\' and ']' are escaped with '\'.

import type { StructuredData } from './syslog-message.js';
import {
  START_SLOT,
  followingSlot,
  internedName,
  isNameInSlot,
  lastSlot,
  nameInSlot,
  rememberFollowing,
} from './interned-names.js';
import { LINE, NO_ESCAPE, currentText, fail, textAsciiEnd, utf8Text } from './line-state.js';
import { Ascii } from './ascii.js';

const SD_NAME_MAX = 32;

export interface StructuredDataRead {
  data: StructuredData | null;
  /** Index of the byte after STRUCTURED-DATA. */
  end: number;
}

// The reader's positions (the text it searches, where the last name and value ended, the next backslash) are
// fields of LINE (line-state.ts): each function returns its value and leaves its end there.

/**
 * seen[slot] === element: a name in that slot was already stored in the current SD-ELEMENT, so the next one there
 * may repeat it and goes through the full check. A counter per element instead of clearing the table: it only
 * grows, across lines, so it needs no reset (it is a cache like the interned names, not per-line state).
 */
const seen = new Int32Array(START_SLOT);
let element = 0;

/** Reads STRUCTURED-DATA at `pos`; null after fail('BAD_STRUCTURED_DATA') (syslog-message.ts). */
export function readStructuredData(line: Buffer, pos: number): StructuredDataRead | null {
  if ((line[pos] ?? 0) === Ascii.NIL) return { data: null, end: pos + 1 };
  if ((line[pos] ?? 0) !== Ascii.OPEN) return bad(`expected '[' or '-'`, pos);

  const state = LINE;
  const text = currentText(line);
  state.sdText = text;
  state.sdTextEnd = text === null ? 0 : textAsciiEnd();
  state.escapeAt = -1;
  const data = readElements(line, pos);
  state.sdText = null;
  return data === null ? null : { data, end: state.sdEnd };
}

function readElements(line: Buffer, pos: number): StructuredData | null {
  const data: StructuredData = {};
  let previous = START_SLOT;
  while ((line[pos] ?? 0) === Ascii.OPEN) {
    const id = readName(line, pos + 1, previous, 'SD-ID');
    if (id === null) return null;
    previous = LINE.nameSlot;
    pos = LINE.nameEnd;
    // A repeated SD-ID is forbidden (6.3.2) but harmless to merge; failing would only lose the parse.
    let params = Object.hasOwn(data, id) ? data[id] : undefined;
    // A merged element's names may repeat those of the first: only a new one skips the check in addParam.
    const fresh = params === undefined;
    if (params === undefined) {
      params = {};
      setOwn(data, id, params);
    }
    element = (element + 1) | 0;
    let after = previous;
    while ((line[pos] ?? 0) === Ascii.SP) {
      const name = readName(line, pos + 1, after, 'PARAM-NAME');
      if (name === null) return null;
      const nameEnd = LINE.nameEnd;
      if ((line[nameEnd] ?? 0) !== Ascii.EQUALS || (line[nameEnd + 1] ?? 0) !== Ascii.QUOTE)
        return bad(`expected '="' after PARAM-NAME`, nameEnd);
      after = LINE.nameSlot;
      const value = readParamValue(line, nameEnd + 2);
      if (value === null) return null;
      pos = LINE.valueEnd;
      if (!fresh || seen[after] === element) addParam(params, name, value);
      else {
        seen[after] = element;
        setOwn(params, name, value);
      }
    }
    if ((line[pos] ?? 0) !== Ascii.CLOSE) return bad(`expected ']' or SP SD-PARAM`, pos);
    pos++;
  }
  LINE.sdEnd = pos;
  return data;
}

/**
 * The SD-NAME at `pos`, interned; sets LINE.nameEnd and LINE.nameSlot. First tries the name that followed the one in slot
 * `previous` last time: a match of its bytes, ended by a byte that cannot continue a name, is that very name (it
 * was checked when it was interned). Otherwise scans and interns, and remembers the order.
 */
function readName(line: Buffer, pos: number, previous: number, what: string): string | null {
  const guessSlot = followingSlot(previous);
  if (guessSlot >= 0) {
    const guess = nameInSlot(guessSlot);
    const length = guess.length;
    const end = pos + length;
    // The name's bytes, not its text: a slice compared with === costs a copy, and text.startsWith(guess, pos)
    // dispatched on both strings' representations for every character.
    if (end < line.length && SD_NAME_BYTE[line[end]!] === 0 && isNameInSlot(line, pos, guessSlot, length)) {
      LINE.nameEnd = end;
      LINE.nameSlot = guessSlot;
      return guess;
    }
  }
  const end = sdName(line, pos, what);
  if (end < 0) return null;
  const name = internedName(line, pos, end);
  const slot = lastSlot();
  LINE.nameEnd = end;
  LINE.nameSlot = slot;
  rememberFollowing(previous, slot);
  return name;
}

/** Scans an SD-NAME from `pos`; returns the index of the delimiter after it (checked by the caller), or fail(). */
function sdName(line: Buffer, pos: number, what: string): number {
  // One table load per byte while the name lasts; the byte that stops the scan says why (a delimiter, a byte
  // outside printable US-ASCII, or the 33rd name byte), instead of four comparisons per byte.
  const limit = Math.min(line.length, pos + SD_NAME_MAX);
  let i = pos;
  while (i < limit && SD_NAME_BYTE[line[i]!] === 1) i++;
  if (i < line.length) {
    const b = line[i]!;
    if (b !== Ascii.SP && b !== Ascii.EQUALS && b !== Ascii.CLOSE && b !== Ascii.QUOTE) {
      if (b < 0x21 || b > 0x7e) return failSd(`${what} has a byte outside printable US-ASCII`, i);
      return failSd(`${what} longer than ${SD_NAME_MAX} bytes`, i);
    }
  }
  if (i === pos) return failSd(`empty ${what}`, pos);
  return i;
}

/** 1 for the bytes of an SD-NAME: printable US-ASCII except '=', SP, ']' and '"'. Indexed by byte (0..255). */
const SD_NAME_BYTE = sdNameBytes();

function sdNameBytes(): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0x21; b <= 0x7e; b++) if (b !== Ascii.EQUALS && b !== Ascii.CLOSE && b !== Ascii.QUOTE) table[b] = 1;
  return table;
}

/** PARAM-VALUE from `pos` (after the opening quote); sets LINE.valueEnd. Null after fail(). */
function readParamValue(line: Buffer, pos: number): string | null {
  const state = LINE;
  const text = state.sdText;
  if (text !== null) {
    // Most values have no backslash: String#indexOf finds the closing quote (a builtin, no call into the
    // runtime), and one search per line, not per value, says where the next backslash is.
    const quote = text.indexOf('"', pos);
    let escapeAt = state.escapeAt;
    if (escapeAt !== NO_ESCAPE && escapeAt < pos) {
      escapeAt = text.indexOf('\\', pos);
      if (escapeAt < 0) escapeAt = NO_ESCAPE;
      state.escapeAt = escapeAt;
    }
    if (quote >= 0 && quote < state.sdTextEnd && quote < escapeAt) {
      state.valueEnd = quote + 1;
      return text.slice(pos, quote);
    }
  }
  return readEscapedValue(line, pos);
}

/** PARAM-VALUE from `pos` with its escapes undone, byte by byte; sets LINE.valueEnd. Null after fail(). */
function readEscapedValue(line: Buffer, pos: number): string | null {
  let value = '';
  let segment = pos;
  const length = line.length;
  for (let i = pos; i < length; i++) {
    const b = line[i]!;
    if (b === Ascii.QUOTE) {
      // Segments split only at ASCII backslashes, never inside a UTF-8 sequence, so decoding piecewise is exact.
      // A value without escapes (segment still at pos) is its one segment, with no concatenation.
      const last = utf8Text(line, segment, i);
      LINE.valueEnd = i + 1;
      return segment === pos ? last : value + last;
    }
    if (b === Ascii.BACKSLASH) {
      const next = line[i + 1] ?? 0;
      if (next === Ascii.QUOTE || next === Ascii.BACKSLASH || next === Ascii.CLOSE) {
        value += utf8Text(line, segment, i);
        segment = i + 1;
        i++; // the escaped byte is literal: do not let it close the value or start another escape
      }
      // Any other '\x' stays as both bytes (6.3.3: an invalid escape is kept verbatim).
    }
    // An unescaped ']' is accepted: inside quotes it cannot be mistaken for the element's end, and many
    // senders forget to escape it.
  }
  return bad('PARAM-VALUE has no closing quote', pos);
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
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Records a BAD_STRUCTURED_DATA failure; returns -1. */
function failSd(reason: string, offset: number): -1 {
  return fail('BAD_STRUCTURED_DATA', `bad STRUCTURED-DATA: ${reason}`, offset);
}

/** Records a BAD_STRUCTURED_DATA failure; returns null. */
function bad(reason: string, offset: number): null {
  failSd(reason, offset);
  return null;
}
