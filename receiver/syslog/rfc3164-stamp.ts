// The timestamps found at the head of RFC 3164 lines, as devices really write them:
//   Mmm dd hh:mm:ss                 RFC 3164 4.1.2 (day padded with a space, a zero, or not at all; month any case)
//   Mmm dd hh:mm:ss.fff             Cisco `service timestamps log datetime msec`
//   Mmm dd yyyy hh:mm:ss            Cisco ASA, IOS `datetime year`
//   Mmm dd hh:mm:ss yyyy            some SOHO routers (syslog-ng reads it too)
//   yyyy Mmm dd hh:mm:ss            Cisco NX-OS
//   ... ZONE:                       Cisco `show-timezone`: UTC, CEST, mdt, UTC+1, UTC+07:30, then the colon
//   YYYY-MM-DDThh:mm:ss[.f](Z|±hh:mm|±hhmm)?   RFC 3339 (rsyslog RSYSLOG_ForwardFormat, ESXi, Juniper), also with
//                                              a space for T (RFC 3339 5.6; Python logging, many scripts)
// A stamp without a zone is in the configured zone; one without a year gets the year that puts it closest to now.

import { isDigit, isLetter, readDigits, readTwoDigits } from './syslog-bytes.js';
import {
  formatIso,
  isLeapYear,
  isValidDate,
  isoString,
  readIsoTimestamp,
  wallClockMs,
  type TimestampReadOptions,
  type Zone,
} from './syslog-time.js';
import { Ascii } from './ascii.js';

/** How far ahead of the receive time a year-less stamp may be: clocks run fast, but not by a month. */
export const FUTURE_MAX_MS = 31 * 86_400_000;

export interface StampOptions {
  /** Reference for the year a stamp leaves out: the receive time, normally. */
  now: Date;
  /** Zone of stamps that carry none; null (an unknown configured zone) leaves such stamps unread. */
  zone: Zone | null;
}

/** What readStamp writes its time into: the message being parsed (a young object, so no write barrier). */
export interface StampTarget {
  time: string | null;
}

/** readIsoTimestamp's options for RFC 3339 stamps in RFC 3164 lines, reused: parsing is synchronous. */
const LENIENT: TimestampReadOptions = { lenient: true, zone: 0 };

/**
 * Zone names Cisco devices print after the time, as minutes east of UTC; null marks an abbreviation that names
 * several zones (CST: US Central or China; IST: India, Ireland or Israel; ...), whose stamp is not trusted.
 */
const ZONE_NAMES: ReadonlyMap<string, number | null> = new Map([
  ['UTC', 0],
  ['GMT', 0],
  ['UT', 0],
  ['WET', 0],
  ['WEST', 60],
  ['CET', 60],
  ['CEST', 120],
  ['MET', 60],
  ['MEST', 120],
  ['EET', 120],
  ['EEST', 180],
  ['MSK', 180],
  ['EST', -300],
  ['EDT', -240],
  ['CDT', -300],
  ['MST', -420],
  ['MDT', -360],
  ['PST', -480],
  ['PDT', -420],
  ['AKST', -540],
  ['AKDT', -480],
  ['HST', -600],
  ['JST', 540],
  ['KST', 540],
  ['HKT', 480],
  ['SGT', 480],
  ['AWST', 480],
  ['ACST', 570],
  ['ACDT', 630],
  ['AEST', 600],
  ['AEDT', 660],
  ['NZST', 720],
  ['NZDT', 780],
  ['CST', null],
  ['IST', null],
  ['BST', null],
  ['AST', null],
  ['ADT', null],
  ['GST', null],
  ['SST', null],
]);

/**
 * ZONE_NAMES by letterKey, so that a zone word is looked up from its bytes rather than made a string, upper-cased
 * and hashed, which showed in profiles of Cisco lines with a zone.
 */
const ZONE_BY_KEY: ReadonlyMap<number, number | null> = new Map(
  [...ZONE_NAMES].map(([name, zone]) => [letterKey(Buffer.from(name, 'latin1'), 0, name.length), zone]),
);
const KEY_UTC = letterKey(Buffer.from('UTC', 'latin1'), 0, 3);
const KEY_GMT = letterKey(Buffer.from('GMT', 'latin1'), 0, 3);

/**
 * The ASCII letters [start, end) as one integer, any case: 5 bits a letter (1..26, never 0), so words of up to 6
 * letters each get their own key, whatever their length.
 */
function letterKey(line: Buffer, start: number, end: number): number {
  let key = 0;
  for (let i = start; i < end; i++) key = key * 32 + (line[i]! & 0x1f);
  return key;
}

/**
 * Reads a timestamp at `pos` into `target.time` and returns the index after it (after its zone name, before a
 * Cisco ':'); -1, with target untouched, when there is none or its values make no time (Feb 30, 25:00, CST).
 */
export function readStamp(line: Buffer, pos: number, options: StampOptions, target: StampTarget): number {
  if (pos >= line.length) return -1;
  const b = line[pos]!;
  if (isDigit(b)) {
    if ((line[pos + 4] ?? 0) === Ascii.SP) return readBsd(line, pos, options, target); // NX-OS `2023 May  2 ...`
    if ((line[pos + 4] ?? 0) !== 0x2d) return -1;
    LENIENT.zone = options.zone;
    const ts = readIsoTimestamp(line, pos, LENIENT);
    if (!ts.ok) return -1;
    target.time = ts.iso;
    return ts.end;
  }
  return readBsd(line, pos, options, target);
}

function readBsd(line: Buffer, pos: number, options: StampOptions, target: StampTarget): number {
  let i = pos;
  let year = -1;
  if (isDigit(line[i]!)) {
    year = readDigits(line, i, 4);
    if (year < 0) return -1;
    i += 5;
  }
  const month = monthAt(line, i);
  if (month === 0 || (line[i + 3] ?? 0) !== Ascii.SP) return -1;
  i += 4;
  if ((line[i] ?? 0) === Ascii.SP) i++;
  let day = readTwoDigits(line, i);
  if (day >= 0) i += 2;
  else if ((day = readDigits(line, i, 1)) >= 0) i += 1;
  else return -1;
  if ((line[i] ?? 0) !== Ascii.SP) return -1;
  i++;
  if (year < 0 && (line[i + 4] ?? 0) === Ascii.SP && (year = readDigits(line, i, 4)) >= 0) i += 5;
  const hour = readTwoDigits(line, i);
  const minute = readTwoDigits(line, i + 3);
  const second = readTwoDigits(line, i + 6);
  if (hour < 0 || minute < 0 || second < 0 || (line[i + 2] ?? 0) !== Ascii.COLON || (line[i + 5] ?? 0) !== Ascii.COLON)
    return -1;
  i += 8;
  let fractionAt = 0;
  let fractionDigits = 0;
  if ((line[i] ?? 0) === 0x2e && isDigit(line[i + 1] ?? 0)) {
    const start = ++i;
    const length = line.length;
    while (i < length && isDigit(line[i]!)) i++;
    fractionAt = start;
    fractionDigits = Math.min(i - start, 6);
  }
  if (
    year < 0 &&
    (line[i] ?? 0) === Ascii.SP &&
    isDigit(line[i + 1] ?? 0) &&
    ((line[i + 5] ?? 0) === Ascii.SP || i + 5 === line.length)
  ) {
    year = readDigits(line, i + 1, 4);
    if (year >= 0) i += 5;
  }
  let zone: Zone | null = options.zone;
  if ((line[i] ?? 0) === Ascii.SP && zoneMayFollow(line, i + 1)) {
    const named = readZoneName(line, i + 1);
    if (named !== null) {
      zone = named.zone;
      i = named.end;
    }
  }
  if (zone === null || hour > 23 || minute > 59 || second > 60) return -1;
  const sec = Math.min(second, 59); // BSD clocks may stamp a leap second; fold it rather than drop the time
  if (year < 0) year = inferYear(month, day, hour, minute, sec, zone, options.now);
  else if (!isValidDate(year, month, day)) year = -1;
  if (year < 0) return -1;
  // UTC wall clocks (the default, and every stamp that names UTC) are formatted as read, with no conversion.
  const time =
    zone === 0
      ? formatIso(year, month, day, hour, minute, sec, line, fractionAt, fractionDigits)
      : isoString(wallClockMs(year, month, day, hour, minute, sec, zone), line, fractionAt, fractionDigits);
  if (time === null) return -1;
  target.time = time;
  return i;
}

/**
 * Whether readZoneName could find a zone at `pos`: its ':' (after 2 to 5 letters) or its offset sign (after UTC or
 * GMT) is where a zone would put it. After most stamps comes a HOSTNAME, which this turns away without the call.
 */
function zoneMayFollow(line: Buffer, pos: number): boolean {
  const fourth = line[pos + 3] ?? 0;
  return (
    (line[pos + 2] ?? 0) === Ascii.COLON ||
    fourth === Ascii.COLON ||
    fourth === 0x2b ||
    fourth === 0x2d ||
    (line[pos + 4] ?? 0) === Ascii.COLON ||
    (line[pos + 5] ?? 0) === Ascii.COLON
  );
}

/**
 * A Cisco zone at `pos` that ends right before a ':': a known name (any case), or UTC/GMT with an offset
 * (`UTC+1`, `UTC+07:30`, `GMT-5`). zone null for an ambiguous name. Null when there is none, so a TAG right
 * after the time (`Jun 14 03:04:05 sshd: ...`) is never taken for a zone.
 */
function readZoneName(line: Buffer, pos: number): { zone: number | null; end: number } | null {
  let i = pos;
  const end = Math.min(line.length, pos + 5);
  while (i < end && isLetter(line[i]!)) i++;
  // Every BSD stamp is followed by SP and a word (the HOSTNAME, mostly): reject it before looking it up.
  const next = line[i] ?? 0;
  const signed = (next === 0x2b || next === 0x2d) && i - pos === 3 && isDigit(line[i + 1] ?? 0);
  if (i - pos < 2 || (next !== Ascii.COLON && !signed)) return null;
  const key = letterKey(line, pos, i);
  const known = ZONE_BY_KEY.get(key);
  if (known === undefined) return null;
  let zone = known;
  if (signed && (key === KEY_UTC || key === KEY_GMT)) {
    let j = i + 1;
    let hours = line[j]! - 0x30;
    j++;
    if (isDigit(line[j] ?? 0)) hours = hours * 10 + line[j++]! - 0x30;
    let minutes = 0;
    if ((line[j] ?? 0) === Ascii.COLON && isDigit(line[j + 1] ?? 0)) {
      minutes = readTwoDigits(line, j + 1);
      if (minutes < 0) return null;
      j += 3;
    }
    if (hours > 23 || minutes > 59) return null;
    zone = (next === 0x2b ? 1 : -1) * (hours * 60 + minutes);
    i = j;
  }
  return (line[i] ?? 0) === Ascii.COLON ? { zone, end: i } : null;
}

/**
 * The year the sender left out: the latest of next, this and last year that puts the stamp at most FUTURE_MAX_MS
 * ahead of `now`. So a December line received in early January lands in the previous year, a clock a few
 * seconds fast at midnight on New Year's Eve gives next year, and a July stamp received in January (a replayed
 * queue, a clock never set) is last July, not next. -1 when the date exists in none of them (Feb 29).
 */
function inferYear(month: number, day: number, h: number, m: number, s: number, zone: Zone, now: Date): number {
  const nowMs = now.getTime();
  const limit = nowMs + FUTURE_MAX_MS;
  // The UTC year of now, remembered: receive times of consecutive lines are close together.
  if (nowMs < yearStartMs || nowMs >= nextYearStartMs) rememberYear(now);
  if (typeof zone === 'number') return inferYearAtOffset(month, day, (h * 60 + m - zone) * 60 + s, limit);
  const thisYear = zone === 'local' ? now.getFullYear() : cachedYear;
  for (let year = thisYear + 1; year >= thisYear - 1; year--) {
    if (isValidDate(year, month, day) && wallClockMs(year, month, day, h, m, s, zone) <= limit) return year;
  }
  return -1;
}

/**
 * inferYear for a fixed offset (the default zone, and every stamp that names one), on the remembered year starts
 * instead of a calendar computation per candidate year: it is the commonest case, and was the stamp's costliest
 * step. `secondsIntoDay` is the stamp's time of day in UTC seconds, which may leave 0..86399 by the offset.
 */
function inferYearAtOffset(month: number, day: number, secondsIntoDay: number, limit: number): number {
  // The date exists in every year, except Feb 29, which exists in leap years only; so one range check replaces a
  // calendar check per candidate year, and the leap days are remembered with the year starts.
  if (day < 1 || day > DAYS_IN_MONTH[month]!) return -1;
  const leapOnly = month === 2 && day === 29;
  const intoYearMs = (DAYS_BEFORE_MONTH[month]! + day - 1) * DAY_MS + secondsIntoDay * 1000;
  const afterFebruary = month > 2;
  for (let k = 2; k >= 0; k--) {
    const leapDay = yearLeapDays[k]!;
    if (leapOnly && leapDay === 0) continue;
    if (yearStarts[k]! + intoYearMs + (afterFebruary ? leapDay : 0) <= limit) return cachedYear + k - 1;
  }
  return -1;
}

const DAY_MS = 86_400_000;
/** Days of a common year before the first of month 1..12 (index 0 unused). */
const DAYS_BEFORE_MONTH: readonly number[] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
/** Days of month 1..12 in a leap year (index 0 unused). */
const DAYS_IN_MONTH: readonly number[] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

let cachedYear = 0;
let yearStartMs = 0;
let nextYearStartMs = -1;
/** Epoch ms of 1 January (UTC) of cachedYear - 1, cachedYear and cachedYear + 1. */
const yearStarts = [0, 0, 0];
/** DAY_MS for each of those years that is a leap year, else 0. */
const yearLeapDays = [0, 0, 0];

function rememberYear(now: Date): void {
  cachedYear = now.getUTCFullYear();
  yearStartMs = Date.UTC(cachedYear, 0, 1);
  nextYearStartMs = Date.UTC(cachedYear + 1, 0, 1);
  yearStarts[0] = Date.UTC(cachedYear - 1, 0, 1);
  yearStarts[1] = yearStartMs;
  yearStarts[2] = nextYearStartMs;
  for (let k = 0; k < 3; k++) yearLeapDays[k] = isLeapYear(cachedYear + k - 1) ? DAY_MS : 0;
}

/** Month 1..12 of a three-letter English abbreviation at `pos`, any case; 0 if none. */
function monthAt(line: Buffer, pos: number): number {
  if (pos + 3 > line.length) return 0;
  // OR 0x20 lower-cases ASCII letters and maps no other byte onto a lower-case letter.
  const a = line[pos]! | 0x20;
  const b = line[pos + 1]! | 0x20;
  const c = line[pos + 2]! | 0x20;
  switch (a) {
    case 0x6a:
      return b === 0x61 && c === 0x6e ? 1 : b === 0x75 ? (c === 0x6e ? 6 : c === 0x6c ? 7 : 0) : 0; // jan jun jul
    case 0x66:
      return b === 0x65 && c === 0x62 ? 2 : 0; // feb
    case 0x6d:
      return b === 0x61 ? (c === 0x72 ? 3 : c === 0x79 ? 5 : 0) : 0; // mar may
    case 0x61:
      return b === 0x70 && c === 0x72 ? 4 : b === 0x75 && c === 0x67 ? 8 : 0; // apr aug
    case 0x73:
      return b === 0x65 && c === 0x70 ? 9 : 0; // sep
    case 0x6f:
      return b === 0x63 && c === 0x74 ? 10 : 0; // oct
    case 0x6e:
      return b === 0x6f && c === 0x76 ? 11 : 0; // nov
    case 0x64:
      return b === 0x65 && c === 0x63 ? 12 : 0; // dec
    default:
      return 0;
  }
}
