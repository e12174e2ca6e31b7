// Device headers that fit no RFC: Cisco's prefixes before the timestamp and FortiGate's key=value line. Read by
// rfc3164.ts; each function reads only its device's shape and answers null (or leaves the message alone) otherwise.

import { readStamp, type StampOptions, type StampTarget } from './rfc3164-stamp.js';
import { fieldText, indexOfText } from './line-state.js';
import {
  HOSTNAME_MAX,
  isAllDigits,
  isDigit,
  isHostByte,
  isHostname,
  isLetter,
  readDigits,
  readTwoDigits,
  startsWith,
} from './syslog-bytes.js';
import type { SyslogMessage } from './syslog-message.js';
import { NO_DIGITS, isValidDate, isoString, wallClockMs, type Zone } from './syslog-time.js';
import { Ascii } from './ascii.js';

/** Cisco puts at most two sequence numbers, an origin-id and an IOS XR node before its timestamp. */
const CISCO_PREFIX_MAX = 4;
/** Longer than any IOS XR node name (`RP/0/RSP0/CPU0`) or line-card type. */
const NODE_MAX = 32;
const FORTI_DATE = Buffer.from('date=');
const FORTI_TIME = Buffer.from(' time=');

/**
 * A FortiGate `key=` to look for in the line, with the part of it to search by: its rarest letters. String#indexOf
 * finds a needle by its first character and checks the rest at each hit, so a needle starting with SP stops at
 * every word of a long FortiGate line, which costs most where the key is missing (the 'tz' of FortiOS before 6.2,
 * or a line whose forwarder dropped devname). 'vname=' and 'z=' are rare in these lines.
 */
interface FortiKey {
  bytes: Buffer;
  rare: string;
  rareAt: number;
}

function fortiKey(key: string, rare: string): FortiKey {
  return { bytes: Buffer.from(key, 'latin1'), rare, rareAt: key.indexOf(rare) };
}

const FORTI_DEVNAME = fortiKey(' devname=', 'vname=');
const FORTI_TZ = fortiKey(' tz=', 'z=');

/** Index of `key` in the line at or after `from`, or -1. */
function indexOfKey(line: Buffer, key: FortiKey, from: number): number {
  let at = indexOfText(line, key.rare, from + key.rareAt);
  while (at !== -1) {
    const start = at - key.rareAt;
    if (startsWith(line, start, key.bytes)) return start;
    at = indexOfText(line, key.rare, at + 1);
  }
  return -1;
}

/** FortiOS starts its line with `date=`, with no syslog header before it. */
export function isFortiGate(line: Buffer, pos: number): boolean {
  return startsWith(line, pos, FORTI_DATE);
}

/** FortiOS: `date=YYYY-MM-DD time=hh:mm:ss ... devname="name" ... tz="+hhmm"`; sets time and hostname. */
export function readFortiGate(line: Buffer, pos: number, msg: SyslogMessage, options: StampOptions): void {
  const d = pos + FORTI_DATE.length;
  const year = readDigits(line, d, 4);
  const month = readTwoDigits(line, d + 5);
  const day = readTwoDigits(line, d + 8);
  const t = d + 16;
  const hour = readTwoDigits(line, t);
  const minute = readTwoDigits(line, t + 3);
  const second = readTwoDigits(line, t + 6);
  if (
    year >= 0 &&
    isValidDate(year, month, day) &&
    (line[d + 4] ?? 0) === 0x2d &&
    (line[d + 7] ?? 0) === 0x2d &&
    startsWith(line, d + 10, FORTI_TIME) &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59 &&
    (line[t + 2] ?? 0) === Ascii.COLON &&
    (line[t + 5] ?? 0) === Ascii.COLON
  ) {
    const zone = fortiZone(line, options.zone);
    msg.time =
      zone === null ? null : isoString(wallClockMs(year, month, day, hour, minute, second, zone), NO_DIGITS, 0, 0);
  }
  const dev = indexOfKey(line, FORTI_DEVNAME, pos);
  if (dev !== -1) {
    let s = dev + FORTI_DEVNAME.bytes.length;
    const quoted = (line[s] ?? 0) === 0x22;
    if (quoted) s++;
    let e = s;
    while (e < line.length && line[e]! !== (quoted ? 0x22 : Ascii.SP) && line[e]! > 0x20 && line[e]! < 0x7f) e++;
    if (e > s && e - s <= HOSTNAME_MAX && (!quoted || (line[e] ?? 0) === 0x22)) msg.hostname = fieldText(line, s, e);
  }
}

/** `tz="+0100"` (FortiOS 6.2 and later) or the configured zone; null for a malformed tz. */
function fortiZone(line: Buffer, fallback: Zone | null): Zone | null {
  const at = indexOfKey(line, FORTI_TZ, 0);
  if (at === -1) return fallback;
  let i = at + FORTI_TZ.bytes.length;
  if ((line[i] ?? 0) === 0x22) i++;
  const sign = line[i] ?? 0;
  const hh = readTwoDigits(line, i + 1);
  const mm = readTwoDigits(line, i + 3);
  if ((sign !== 0x2b && sign !== 0x2d) || hh < 0 || mm < 0 || hh > 23 || mm > 59) return null;
  return (sign === 0x2b ? 1 : -1) * (hh * 60 + mm);
}

/** What readCiscoPrefix writes: the stamp's time and the `logging origin-id` host (null when there is none). */
export interface CiscoPrefixTarget extends StampTarget {
  hostname: string | null;
}

/**
 * Cisco's groups before the timestamp, each closed by ':' — sequence numbers, an empty group (`<189>: ...`), the
 * `logging origin-id` host, and an IOS XR node or a line card (`RP/0/RP0/CPU0:`, `CLC 6/0: `) — then an optional
 * '*' or '.' clock mark and the stamp, which may follow the ':' without a space (ASA's `<111>:Jan 12 ...`, IOS
 * XR's `RP/0/RP0/CPU0:Dec 11 ...`). Returns the stamp's end (see readStamp) with its time and the host written
 * into `target`. With no stamp, a sequence number, at most a host, and a `%MNEMONIC` (`<190>123030: some-host:
 * %SYS-5-...`, `service timestamps` off) return where the mnemonic starts, with the host written and target.time
 * left null. -1, with target untouched, otherwise.
 */
export function readCiscoPrefix(line: Buffer, pos: number, options: StampOptions, target: CiscoPrefixTarget): number {
  let hostStart = -1;
  let hostEnd = -1;
  let sequence = false;
  let i = pos;
  for (let n = 0; n < CISCO_PREFIX_MAX; n++) {
    let end = prefixTokenEnd(line, i);
    if (end >= 0) {
      if (end > i && isAllDigits(line, i, end)) sequence = true;
      else if (end > i && !isNodeName(line, i, end)) {
        if (hostStart >= 0 || !isHostname(line, i, end)) return -1;
        hostStart = i;
        hostEnd = end;
      }
    } else {
      end = nodeEnd(line, i);
      if (end < 0) return -1;
    }
    i = (line[end + 1] ?? 0) === Ascii.SP ? end + 2 : end + 1;
    const stampEnd = readStamp(line, clockMark(line, i), options, target);
    if (stampEnd >= 0 || (sequence && isCiscoMnemonic(line, i))) {
      target.hostname = hostStart < 0 ? null : fieldText(line, hostStart, hostEnd);
      return stampEnd >= 0 ? stampEnd : i;
    }
  }
  return -1;
}

/** Index of the ':' of the first `: ` at or after `pos` within one SP-free token; -1 if the token has none. */
function prefixTokenEnd(line: Buffer, pos: number): number {
  const end = Math.min(line.length, pos + HOSTNAME_MAX + 1);
  for (let i = pos; i < end; i++) {
    const b = line[i]!;
    if (b === Ascii.COLON && (line[i + 1] ?? 0) === Ascii.SP) return i;
    if (b <= Ascii.SP || b >= 0x7f) return -1;
  }
  return -1;
}

/**
 * The ':' closing a group that prefixTokenEnd does not find: an empty one glued to the stamp (ASA `:Jan 12`), or
 * a node name, which may be glued too and may follow a card type and a space (`RP/0/RP0/CPU0:Dec`, `CLC 6/0: `).
 * -1 for anything else.
 */
function nodeEnd(line: Buffer, pos: number): number {
  if ((line[pos] ?? 0) === Ascii.COLON) return pos;
  let i = pos;
  while (i < pos + NODE_MAX && isLetter(line[i] ?? 0)) i++;
  const start = i > pos && (line[i] ?? 0) === Ascii.SP ? i + 1 : pos;
  i = start;
  while (i < start + NODE_MAX && isNodeByte(line[i] ?? 0)) i++;
  return (line[i] ?? 0) === Ascii.COLON && isNodeName(line, start, i) ? i : -1;
}

/** A node or slot name: letters, digits and at least one '/' (`RP/0/RP0/CPU0`, `0/1/CPU0`, `6/0`). */
function isNodeName(line: Buffer, start: number, end: number): boolean {
  if (end - start > NODE_MAX || end === start) return false;
  let slash = false;
  for (let i = start; i < end; i++) {
    const b = line[i]!;
    if (b === Ascii.SLASH) slash = true;
    else if (!isNodeByte(b)) return false;
  }
  return slash;
}

function isNodeByte(b: number): boolean {
  return b === Ascii.SLASH || isDigit(b) || isLetter(b);
}

export function isPrefixStart(b: number | undefined): boolean {
  return b !== undefined && (b === Ascii.COLON || isDigit(b) || isHostByte(b));
}

/** Skips Cisco's clock-status mark: '*' (clock not set) or '.' (not synchronised). */
export function clockMark(line: Buffer, pos: number): number {
  const b = line[pos] ?? 0;
  return b === 0x2a || b === 0x2e ? pos + 1 : pos;
}

/** `%` and an upper-case letter: a Cisco `%FACILITY-SEVERITY-MNEMONIC`. */
export function isCiscoMnemonic(line: Buffer, pos: number): boolean {
  const b = line[pos + 1] ?? 0;
  return (line[pos] ?? 0) === Ascii.PERCENT && b >= 0x41 && b <= 0x5a;
}
