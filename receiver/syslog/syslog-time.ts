// Syslog timestamps to ISO 8601 UTC strings. Shared by both parsers: RFC 5424's TIMESTAMP (RFC 3339 with the
// restrictions of RFC 5424 6.2.3) and the RFC 3339 stamps that rsyslog's forward format puts in RFC 3164 lines.
//
// Times are whole seconds on integers (civil date <-> days since the epoch), shifted by the offset and formatted
// without Date; the fraction the sender wrote (up to 6 digits) is carried beside them as text and appended
// unchanged. Only the process's local zone goes through Date; an IANA zone goes through time-zone.ts.

import { fieldText } from './line-state.js';
import { isDigit, readDigits, readTwoDigits } from './syslog-bytes.js';
import { NamedZone, type Zone } from './time-zone.js';
import { Ascii } from './ascii.js';

export type { Zone } from './time-zone.js';

export type TimestampRead = { ok: true; iso: string; end: number } | { ok: false; offset: number; reason: string };

export interface TimestampReadOptions {
  /**
   * false (RFC 5424): 'T' and 'Z' upper case, at most 6 fraction digits, offset required.
   * true (RFC 3164 lines): also 't'/'z' or a space for 'T', longer fractions cut to 6 digits, `+hhmm` offsets, and a missing
   * offset means `zone` (null: the stamp is unusable).
   */
  lenient: boolean;
  zone: Zone | null;
}

function bad(offset: number, reason: string): TimestampRead {
  return { ok: false, offset, reason };
}

/** Reads `YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)` at `pos`; `end` is the byte after it. */
export function readIsoTimestamp(line: Buffer, pos: number, options: TimestampReadOptions): TimestampRead {
  const year = readDigits(line, pos, 4);
  const month = readTwoDigits(line, pos + 5);
  const day = readTwoDigits(line, pos + 8);
  if (year < 0 || month < 0 || day < 0 || (line[pos + 4] ?? 0) !== 0x2d || (line[pos + 7] ?? 0) !== 0x2d) {
    return bad(pos, 'expected YYYY-MM-DD');
  }
  const t = line[pos + 10] ?? 0;
  // RFC 3339 5.6 lets "applications using this syntax" use a space for 'T'; RFC 5424 does not.
  if (t !== 0x54 && !(options.lenient && (t === 0x74 || t === 0x20))) return bad(pos + 10, "expected 'T'");
  const hour = readTwoDigits(line, pos + 11);
  const minute = readTwoDigits(line, pos + 14);
  const second = readTwoDigits(line, pos + 17);
  if (hour < 0 || minute < 0 || second < 0 || (line[pos + 13] ?? 0) !== 0x3a || (line[pos + 16] ?? 0) !== 0x3a) {
    return bad(pos + 11, 'expected hh:mm:ss');
  }
  if (!isValidDate(year, month, day)) return bad(pos, 'no such date');
  // RFC 5424 6.2.3: leap seconds MUST NOT be used, so second 60 is invalid like any other out-of-range field.
  if (hour > 23 || minute > 59 || second > 59) return bad(pos + 11, 'no such time of day');

  let i = pos + 19;
  let fractionAt = 0;
  let fractionDigits = 0;
  if ((line[i] ?? 0) === 0x2e) {
    const start = ++i;
    const length = line.length;
    while (i < length && isDigit(line[i]!)) i++;
    const n = i - start;
    if (n === 0 || (n > 6 && !options.lenient)) return bad(start, 'TIME-SECFRAC must have 1 to 6 digits');
    fractionAt = start;
    fractionDigits = Math.min(n, 6);
  }

  let zone: Zone;
  const z = line[i] ?? 0;
  if (t === 0x54 && i - pos <= 26) {
    // Already in UTC and shaped like the ISO form this function returns (upper-case 'T', at most 6 fraction
    // digits), as most senders write it: the text itself, with nothing to compute or format.
    if (z === 0x5a) return { ok: true, iso: fieldText(line, pos, i + 1), end: i + 1 };
    if (isZeroOffset(line, i)) {
      const iso = formatIso(year, month, day, hour, minute, second, line, fractionAt, fractionDigits);
      return { ok: true, iso: iso!, end: i + 6 };
    }
  }
  if (z === 0x5a || (options.lenient && z === 0x7a)) {
    zone = 0;
    i++;
  } else if (z === 0x2b || z === 0x2d) {
    const oh = readTwoDigits(line, i + 1);
    const colon = (line[i + 3] ?? 0) === 0x3a;
    const om = readTwoDigits(line, i + (colon ? 4 : 3));
    if (oh < 0 || om < 0 || (!colon && !options.lenient) || oh > 23 || om > 59) return bad(i, 'bad TIME-NUMOFFSET');
    zone = (z === 0x2b ? 1 : -1) * (oh * 60 + om);
    i += colon ? 6 : 5;
  } else if (options.lenient && options.zone !== null) {
    zone = options.zone;
  } else if (options.lenient) {
    return bad(i, 'no offset, and the configured zone is unknown');
  } else {
    return bad(i, "expected 'Z' or an offset");
  }

  const iso =
    zone === 0
      ? formatIso(year, month, day, hour, minute, second, line, fractionAt, fractionDigits)
      : isoString(wallClockMs(year, month, day, hour, minute, second, zone), line, fractionAt, fractionDigits);
  return iso === null ? bad(pos, 'out of range in UTC') : { ok: true, iso, end: i };
}

/** `+00:00` or `-00:00` (RFC 3339 4.3: UTC, the offset of the local time unknown) at `pos`. */
function isZeroOffset(line: Buffer, pos: number): boolean {
  const sign = line[pos] ?? 0;
  return (
    (sign === 0x2b || sign === 0x2d) &&
    (line[pos + 1] ?? 0) === Ascii.D0 &&
    (line[pos + 2] ?? 0) === Ascii.D0 &&
    (line[pos + 3] ?? 0) === 0x3a &&
    (line[pos + 4] ?? 0) === Ascii.D0 &&
    (line[pos + 5] ?? 0) === Ascii.D0
  );
}

/** Epoch milliseconds of a wall-clock time (whole seconds). */
export function wallClockMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: Zone,
): number {
  if (zone instanceof NamedZone) return zone.toUtc(wallClockMs(year, month, day, hour, minute, second, 0));
  if (zone !== 'local')
    return (daysFromCivil(year, month, day) * 86_400 + hour * 3600 + (minute - zone) * 60 + second) * 1000;
  const date = new Date(0);
  date.setFullYear(year, month - 1, day);
  date.setHours(hour, minute, second, 0);
  return date.getTime();
}

// Calendar arithmetic on integers (proleptic Gregorian, H. Hinnant's algorithms) and string building with one
// String.fromCharCode: formatting through Date and toISOString was the parser's hottest spot.

/** Days since 1970-01-01 of a civil date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = (((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) | 0) + day - 1;
  return era * 146_097 + yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy - 719_468;
}

/**
 * `YYYY-MM-DDThh:mm:ss[.fraction]Z` of whole-second epoch `ms` (UTC), or null when the year leaves 0000..9999. The
 * fraction is `fractionDigits` ASCII digits of `digits` from `fractionAt`, as formatIso takes it.
 */
export function isoString(ms: number, digits: Uint8Array, fractionAt: number, fractionDigits: number): string | null {
  const secs = Math.floor(ms / 1000);
  const days = Math.floor(secs / 86_400);
  const sod = secs - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36_524) | 0) - ((doe / 146_096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  const day = doy - (((153 * mp + 2) / 5) | 0) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const hour = (sod / 3600) | 0;
  const minute = ((sod - hour * 3600) / 60) | 0;
  return formatIso(
    yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day,
    hour,
    minute,
    sod - hour * 3600 - minute * 60,
    digits,
    fractionAt,
    fractionDigits,
  );
}

/**
 * `YYYY-MM-DDThh:mm:ss[.fraction]Z` of UTC civil time fields, or null when the year leaves 0000..9999. The fraction
 * is `fractionDigits` (0 to 6) ASCII digits of `digits` from `fractionAt`, the sender's own bytes, so it keeps the
 * precision the sender gave.
 *
 * Each length has a String.fromCharCode call of its own, so that every stamp is one flat string made in one call:
 * a fraction appended with `+` made a cons string, which its readers (the body writer, JSON) then had to flatten.
 */
export function formatIso(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  digits: Uint8Array,
  fractionAt: number,
  fractionDigits: number,
): string | null {
  if (!(year >= 0 && year <= 9999)) return null;
  // Digits from tables: cheaper than the divisions by 10 they replaced.
  const century = (year / 100) | 0;
  const yy = year - century * 100;
  const y0 = TENS[century]!;
  const y1 = ONES[century]!;
  const y2 = TENS[yy]!;
  const y3 = ONES[yy]!;
  const mo0 = TENS[month]!;
  const mo1 = ONES[month]!;
  const d0 = TENS[day]!;
  const d1 = ONES[day]!;
  const h0 = TENS[hour]!;
  const h1 = ONES[hour]!;
  const mi0 = TENS[minute]!;
  const mi1 = ONES[minute]!;
  const s0 = TENS[second]!;
  const s1 = ONES[second]!;
  const f = fractionAt;
  const T = 0x54;
  const Z = 0x5a;
  const DOT = 0x2e;
  const DASH = 0x2d;
  const COLON = 0x3a;
  // One stamp's characters to a line read better than one argument to a line.
  // prettier-ignore
  switch (fractionDigits) {
    case 0:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, Z,
      );
    case 1:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, Z,
      );
    case 2:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, digits[f + 1]!, Z,
      );
    case 3:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, digits[f + 1]!, digits[f + 2]!, Z,
      );
    case 4:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, digits[f + 1]!, digits[f + 2]!, digits[f + 3]!, Z,
      );
    case 5:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, digits[f + 1]!, digits[f + 2]!, digits[f + 3]!, digits[f + 4]!, Z,
      );
    default:
      return String.fromCharCode(
        y0, y1, y2, y3, DASH, mo0, mo1, DASH, d0, d1, T, h0, h1, COLON, mi0, mi1, COLON, s0, s1, DOT,
        digits[f]!, digits[f + 1]!, digits[f + 2]!, digits[f + 3]!, digits[f + 4]!, digits[f + 5]!, Z,
      );
  }
}

/** No fraction digits, for callers of formatIso and isoString whose stamp has none. */
export const NO_DIGITS = new Uint8Array(0);

/** The character codes of the tens and ones digits of 0..99. */
const TENS = new Uint8Array(100).map((_, v) => Ascii.D0 + ((v / 10) | 0));
const ONES = new Uint8Array(100).map((_, v) => Ascii.D0 + (v % 10));

export function isValidDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
