// Byte classes and scans shared by the RFC 3164 header readers.

import { isDigit } from './syslog-time.js';

export const SP = 0x20;
export const COLON = 0x3a;
export const HOSTNAME_MAX = 255;

/** Letters, digits, '.', '-', '_' and ':' (IPv6), with at least one letter or digit: what rsyslog accepts. */
export function isHostname(line: Buffer, start: number, end: number): boolean {
  if (end - start > HOSTNAME_MAX) return false;
  let alnum = false;
  for (let i = start; i < end; i++) {
    const b = line[i]!;
    if (!isHostByte(b)) return false;
    if (b !== 0x2e && b !== 0x2d && b !== 0x5f && b !== COLON) alnum = true;
  }
  return alnum;
}

export function isHostByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x3a) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) || b === 0x2e || b === 0x2d || b === 0x5f;
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

/** Index of the SP ending the word at `pos` (a hostname is short: a loop beats Buffer#indexOf's call cost). */
export function tokenEnd(line: Buffer, pos: number): number {
  let i = pos;
  while (i < line.length && line[i] !== SP) i++;
  return i;
}

export function skipSpaces(line: Buffer, pos: number): number {
  while (line[pos] === SP) pos++;
  return pos;
}
