// RFC 3164 (BSD syslog): `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, plus the variants devices really send:
//   - no HOSTNAME (journald and most local senders forwarding what they got on /dev/log);
//   - an RFC 3339 stamp instead of `Mmm dd hh:mm:ss` (rsyslog's RSYSLOG_ForwardFormat);
//   - Cisco IOS: `<189>123: *Mar  1 00:00:12.345: %SYS-5-CONFIG_I: ...` — a sequence number, '*' or '.' for an
//     unsynchronised clock, milliseconds, maybe a year or a zone, and `: ` instead of a HOSTNAME.
// RFC 3164 describes practice rather than prescribing it, so this parser never fails. Whatever it cannot make
// sense of stays in `message`: without a usable timestamp (none, an impossible date, a zone name it cannot
// resolve) time is null and message is the whole text after PRI, so nothing the sender wrote is dropped.

import { type SyslogMessage, decodeMsg } from './syslog-message.js';
import { isDigit, isValidDate, isoString, readDigits, readIsoTimestamp, wallClockMs, type Zone } from './syslog-time.js';

const SP = 0x20;
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const HOSTNAME_MAX = 255;
/** RFC 3164 says 32, but real tags are longer ('org.gnome.Shell.desktop'); RFC 5424's APP-NAME limit fits. */
const TAG_MAX = 48;
const PID_MAX = 128;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export interface Rfc3164Options {
  /** Reference for the year a `Mmm dd` stamp leaves out. */
  now: Date;
  /** Zone of stamps without an offset. */
  zone: 'UTC' | 'local';
}

/** Parses the text after `<PRI>` (starting at `start`). Never throws. */
export function parseRfc3164(
  line: Buffer, start: number, facility: number, severity: number, options: Rfc3164Options,
): SyslogMessage {
  const msg: SyslogMessage = {
    format: 'rfc3164', facility, severity, time: null, hostname: null,
    appName: null, procId: null, msgId: null, structuredData: null, message: '',
  };
  let pos = skipCiscoPrefix(line, start);
  const ts = readBsdTimestamp(line, pos, options) ?? readRfc3339(line, pos, options);
  if (ts === null) {
    msg.message = decodeMsg(line, start);
    return msg;
  }
  msg.time = ts.time;
  pos = ts.end;
  if (line[pos] === COLON && (pos + 1 === line.length || line[pos + 1] === SP)) {
    msg.message = decodeMsg(line, pos + 2); // Cisco: `timestamp: MSG`, no HOSTNAME and the mnemonic stays in MSG
    return msg;
  }
  if (pos < line.length && line[pos] !== SP) {
    // Glued to something (`Jan  2 03:04:05x`): that was not a timestamp after all.
    msg.time = null;
    msg.message = decodeMsg(line, start);
    return msg;
  }
  pos = skipSpaces(line, pos);

  // Missing-HOSTNAME heuristic: if the first token already has the TAG shape (`name:` or `name[pid]:` followed
  // by SP), it is the TAG. A hostname never ends in ':' (IPv6 addresses do not end in one either, and their
  // inner colons fail the "followed by SP" test), so only a host literally named like a tag is misread.
  let tag = readTag(line, pos);
  if (tag === null) {
    const end = tokenEnd(line, pos);
    if (end > pos && isHostname(line, pos, end)) {
      msg.hostname = line.toString('latin1', pos, end);
      pos = skipSpaces(line, end);
      tag = readTag(line, pos);
      // Cisco ASA with `logging device-id`: `asa01 : %ASA-...` — a lone ':' separates host and MSG.
      if (tag === null && line[pos] === COLON && line[pos + 1] === SP) pos += 2;
    }
  }
  if (tag !== null) {
    msg.appName = tag.appName;
    msg.procId = tag.procId;
    pos = tag.end;
  }
  msg.message = decodeMsg(line, pos);
  return msg;
}

interface StampRead { time: string; end: number }

/** Cisco's `NNN: ` sequence number and its '*' / '.' clock-status mark; returns where the stamp should start. */
function skipCiscoPrefix(line: Buffer, pos: number): number {
  let i = pos;
  while (i < line.length && i - pos < 10 && isDigit(line[i]!)) i++;
  if (i > pos && line[i] === COLON && line[i + 1] === SP) pos = i + 2;
  const b = line[pos];
  return b === 0x2a || b === 0x2e ? pos + 1 : pos;
}

/**
 * `Mmm dd hh:mm:ss` with the day padded by a space or a zero, or not at all; Cisco adds `.mmm`, a year before
 * the time (`Mar  1 2024 00:00:12`) and a zone before its colon (` UTC:`). Null when the shape is not there
 * or the values make no time.
 */
function readBsdTimestamp(line: Buffer, pos: number, options: Rfc3164Options): StampRead | null {
  const month = monthAt(line, pos);
  if (month === 0 || line[pos + 3] !== SP) return null;
  let i = pos + 4;
  if (line[i] === SP) i++;
  let day = readDigits(line, i, 2);
  if (day >= 0) i += 2;
  else if ((day = readDigits(line, i, 1)) >= 0) i += 1;
  else return null;
  if (line[i] !== SP) return null;
  i++;
  let year = -1;
  if (line[i + 4] === SP && (year = readDigits(line, i, 4)) >= 0) i += 5;
  const hour = readDigits(line, i, 2);
  const minute = readDigits(line, i + 3, 2);
  const second = readDigits(line, i + 6, 2);
  if (hour < 0 || minute < 0 || second < 0 || line[i + 2] !== COLON || line[i + 5] !== COLON) return null;
  i += 8;
  let fraction = '';
  if (line[i] === 0x2e && isDigit(line[i + 1] ?? 0)) {
    const fracStart = ++i;
    while (i < line.length && isDigit(line[i]!)) i++;
    fraction = line.toString('latin1', fracStart, Math.min(i, fracStart + 6));
  }
  let zone: Zone | null = options.zone === 'UTC' ? 0 : 'local';
  const zoneEnd = ciscoZoneEnd(line, i);
  if (zoneEnd > 0) {
    const name = line.toString('latin1', i + 1, zoneEnd);
    zone = name === 'UTC' || name === 'GMT' ? 0 : null; // other abbreviations are ambiguous (CST, IST, ...)
    i = zoneEnd;
  }
  if (zone === null || hour > 23 || minute > 59 || second > 60) return null;
  const sec = Math.min(second, 59); // BSD clocks may stamp a leap second; fold it rather than drop the time
  const ms = year >= 0
    ? (isValidDate(year, month, day) ? wallClockMs(year, month, day, hour, minute, sec, zone) : NaN)
    : closestYearMs(month, day, hour, minute, sec, zone, options.now);
  const time = Number.isNaN(ms) ? null : isoString(ms, fraction);
  return time === null ? null : { time, end: i };
}

/**
 * The year the sender left out: the one (this year, last or next) that puts the stamp closest to `now`, so a
 * December line received in early January lands in the previous year and a slightly fast clock in the next.
 */
function closestYearMs(month: number, day: number, h: number, m: number, s: number, zone: Zone, now: Date): number {
  const nowMs = now.getTime();
  const thisYear = zone === 'local' ? now.getFullYear() : now.getUTCFullYear();
  let best = NaN;
  for (let year = thisYear - 1; year <= thisYear + 1; year++) {
    if (!isValidDate(year, month, day)) continue; // Feb 29 only in leap years
    const ms = wallClockMs(year, month, day, h, m, s, zone);
    if (Number.isNaN(best) || Math.abs(ms - nowMs) < Math.abs(best - nowMs)) best = ms;
  }
  return best;
}

/** Cisco `show-timezone`: ` ABC:` right after the time; returns the index of the colon, or 0 if absent. */
function ciscoZoneEnd(line: Buffer, i: number): number {
  if (line[i] !== SP) return 0;
  let j = i + 1;
  while (j < line.length && j - i <= 5 && line[j]! >= 0x41 && line[j]! <= 0x5a) j++;
  return j - i >= 3 && line[j] === COLON ? j : 0;
}

function readRfc3339(line: Buffer, pos: number, options: Rfc3164Options): StampRead | null {
  const ts = readIsoTimestamp(line, pos, { lenient: true, zone: options.zone });
  return ts.ok ? { time: ts.iso, end: ts.end } : null;
}

/** Month number 1..12 of a three-letter English abbreviation at `pos` (any case), or 0. */
function monthAt(line: Buffer, pos: number): number {
  if (pos + 3 > line.length) return 0;
  const name = line.toString('latin1', pos, pos + 3).toLowerCase();
  return MONTHS.indexOf(name) + 1;
}

interface Tag { appName: string; procId: string | null; end: number }

/** `TAG:` or `TAG[PID]:` followed by SP or the end of the line; `end` is where MSG starts. */
function readTag(line: Buffer, pos: number): Tag | null {
  let i = pos;
  while (i < line.length && i - pos < TAG_MAX && isTagByte(line[i]!)) i++;
  // A leading '%' is a Cisco/ASA mnemonic (`%ASA-6-302013:`), which belongs to the message, not the TAG.
  if (i === pos || line[pos] === 0x25) return null;
  const appName = line.toString('latin1', pos, i);
  let procId: string | null = null;
  if (line[i] === OPEN) {
    const close = line.indexOf(CLOSE, i + 1);
    if (close <= i + 1 || close - i - 1 > PID_MAX || !isPrintable(line, i + 1, close)) return null;
    procId = line.toString('latin1', i + 1, close);
    i = close + 1;
  }
  if (line[i] !== COLON) return null;
  i++;
  if (i === line.length) return { appName, procId, end: i };
  return line[i] === SP ? { appName, procId, end: i + 1 } : null;
}

/** Printable US-ASCII except the bytes that end a TAG or mark key=value and quoted text. */
function isTagByte(b: number): boolean {
  return b > SP && b < 0x7f && b !== COLON && b !== OPEN && b !== CLOSE && b !== 0x3d && b !== 0x22;
}

function isHostname(line: Buffer, start: number, end: number): boolean {
  return end - start <= HOSTNAME_MAX && isPrintable(line, start, end);
}

function isPrintable(line: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = line[i]!;
    if (b <= SP || b >= 0x7f) return false;
  }
  return true;
}

function tokenEnd(line: Buffer, pos: number): number {
  const sp = line.indexOf(SP, pos);
  return sp === -1 ? line.length : sp;
}

function skipSpaces(line: Buffer, pos: number): number {
  while (line[pos] === SP) pos++;
  return pos;
}
