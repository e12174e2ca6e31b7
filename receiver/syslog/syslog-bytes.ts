// Byte classes, digit readers and scans: every byte-level helper the syslog readers share, in one place.
//
// Peeking ahead: the readers look at bytes past a field without a length check, written `(line[i] ?? 0) === SP`.
// A comparison that has once seen the `undefined` of a read past the end (any line that ends there) is compiled
// to a call of V8's generic equality builtin for good, on every line after it; with a number on both sides it
// stays one instruction. A helper function for it was slower: its many inlined copies used up TurboFan's inlining
// budget for the larger readers. (0 is a NUL byte, which no reader looks for.)

import { LINE } from './line-state.js';
import { Ascii } from './ascii.js';

export const HOSTNAME_MAX = 255;

/** Letters, digits, '.', '-', '_' and ':' (IPv6), with at least one letter or digit: what rsyslog accepts. */
export function isHostname(line: Buffer, start: number, end: number): boolean {
  if (end - start > HOSTNAME_MAX) return false;
  // One table load a byte: the AND of the classes says whether all are HOSTNAME bytes, the OR whether one is a
  // letter or digit (four comparisons a byte for the latter showed in profiles).
  let all = ByteClass.HOST;
  let any = 0;
  for (let i = start; i < end; i++) {
    const c = BYTE_CLASS[line[i]!]!;
    all &= c;
    any |= c;
  }
  return (all & ByteClass.HOST) !== 0 && (any & ByteClass.HOST_ALNUM) !== 0;
}

export function isHostByte(b: number): boolean {
  return (BYTE_CLASS[b]! & ByteClass.HOST) !== 0;
}

/** Printable US-ASCII except the bytes that end a TAG (':', '[', ']') or mark key=value and quoted text. */
export function isTagByte(b: number): boolean {
  return (BYTE_CLASS[b]! & ByteClass.TAG) !== 0;
}

// The header scans test every byte of a hostname or TAG: one table load per byte instead of a chain of range
// comparisons. Indexed by byte (0..255), so every lookup is in range.
const enum ByteClass {
  HOST = 1,
  TAG = 2,
  /** A HOSTNAME byte that is a letter or digit (a HOSTNAME needs one). */
  HOST_ALNUM = 4,
}
const BYTE_CLASS = byteClasses();

function byteClasses(): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const lower = b | 0x20;
    if ((b >= 0x30 && b <= 0x3a) || (lower >= 0x61 && lower <= 0x7a) || b === 0x2e || b === 0x2d || b === 0x5f) {
      table[b]! |= ByteClass.HOST;
      if (b !== 0x2e && b !== 0x2d && b !== 0x5f && b !== Ascii.COLON) table[b]! |= ByteClass.HOST_ALNUM;
    }
    if (b > Ascii.SP && b < 0x7f && b !== Ascii.COLON && b !== 0x5b && b !== 0x5d && b !== 0x3d && b !== 0x22)
      table[b]! |= ByteClass.TAG;
  }
  return table;
}

export function isAllDigits(line: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isDigit(line[i]!)) return false;
  return end > start;
}

export function startsWith(line: Buffer, pos: number, prefix: Buffer): boolean {
  if (pos + prefix.length > line.length) return false;
  for (let i = 0; i < prefix.length; i++) if (line[pos + i] !== prefix[i]) return false;
  return true;
}

/**
 * Index of the SP ending the word at `pos` (or the line's end); whether the word is a HOSTNAME goes to
 * LINE.hostWord: one pass over the word instead of a scan for its end and another to check it.
 * (A hostname is short: a loop beats Buffer#indexOf's call cost.)
 */
export function hostTokenEnd(line: Buffer, pos: number): number {
  let all = ByteClass.HOST;
  let any = 0;
  let i = pos;
  const length = line.length;
  while (i < length) {
    const b = line[i]!;
    if (b === Ascii.SP) break;
    const c = BYTE_CLASS[b]!;
    all &= c;
    any |= c;
    i++;
  }
  LINE.hostWord = i - pos <= HOSTNAME_MAX && (all & ByteClass.HOST) !== 0 && (any & ByteClass.HOST_ALNUM) !== 0;
  return i;
}

export function skipSpaces(line: Buffer, pos: number): number {
  while ((line[pos] ?? 0) === Ascii.SP) pos++;
  return pos;
}

export function isLetter(b: number): boolean {
  return (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a;
}

export function isDigit(b: number): boolean {
  // One comparison: only '0'..'9' XOR '0' give 0..9 (and an undefined byte, read past the end, gives 48).
  return (b ^ Ascii.D0) < 10;
}

/** The value of `count` ASCII digits at `pos`, or -1 if any is missing or not a digit. */
export function readDigits(line: Buffer, pos: number, count: number): number {
  if (pos + count > line.length) return -1;
  let value = 0;
  for (let i = pos; i < pos + count; i++) {
    const b = line[i]!;
    if (!isDigit(b)) return -1;
    value = value * 10 + (b - Ascii.D0);
  }
  return value;
}

/**
 * readDigits(line, pos, 2), the width of nearly every stamp field, without the loop: each digit value is tested
 * with one unsigned comparison ((d >>> 0) > 9 also catches bytes below '0'). Small enough to be inlined at every
 * call site.
 */
export function readTwoDigits(line: Buffer, pos: number): number {
  if (pos + 2 > line.length) return -1;
  const hi = line[pos]! - Ascii.D0;
  const lo = line[pos + 1]! - Ascii.D0;
  return hi >>> 0 > 9 || lo >>> 0 > 9 ? -1 : hi * 10 + lo;
}
