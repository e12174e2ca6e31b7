// Syslog timestamps to ISO 8601 UTC strings. Shared by both parsers: RFC 5424's TIMESTAMP (RFC 3339 with the
// restrictions of RFC 5424 6.2.3) and the RFC 3339 stamps that rsyslog's forward format puts in RFC 3164 lines.
//
// Dates go through Date only to shift by the offset and to format: a Date keeps milliseconds, so the fraction
// the sender wrote (up to 6 digits) is carried beside it as text and appended unchanged.

const D0 = 0x30;

export type TimestampRead = { ok: true; iso: string; end: number } | { ok: false; offset: number; reason: string };

export interface TimestampReadOptions {
  /**
   * false (RFC 5424): 'T' and 'Z' upper case, at most 6 fraction digits, offset required.
   * true (RFC 3164 lines): also 't'/'z', longer fractions cut to 6 digits, a missing offset means `zone`.
   */
  lenient: boolean;
  zone: 'UTC' | 'local';
}

/** Where the wall-clock time is: minutes east of UTC, or the process's local zone. */
export type Zone = number | 'local';

/** Reads `YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)` at `pos`; `end` is the byte after it. */
export function readIsoTimestamp(line: Buffer, pos: number, options: TimestampReadOptions): TimestampRead {
  const bad = (offset: number, reason: string): TimestampRead => ({ ok: false, offset, reason });
  const year = readDigits(line, pos, 4);
  const month = readDigits(line, pos + 5, 2);
  const day = readDigits(line, pos + 8, 2);
  if (year < 0 || month < 0 || day < 0 || line[pos + 4] !== 0x2d || line[pos + 7] !== 0x2d) {
    return bad(pos, 'expected YYYY-MM-DD');
  }
  const t = line[pos + 10];
  if (t !== 0x54 && !(options.lenient && t === 0x74)) return bad(pos + 10, "expected 'T'");
  const hour = readDigits(line, pos + 11, 2);
  const minute = readDigits(line, pos + 14, 2);
  const second = readDigits(line, pos + 17, 2);
  if (hour < 0 || minute < 0 || second < 0 || line[pos + 13] !== 0x3a || line[pos + 16] !== 0x3a) {
    return bad(pos + 11, 'expected hh:mm:ss');
  }
  if (!isValidDate(year, month, day)) return bad(pos, 'no such date');
  // RFC 5424 6.2.3: leap seconds MUST NOT be used, so second 60 is invalid like any other out-of-range field.
  if (hour > 23 || minute > 59 || second > 59) return bad(pos + 11, 'no such time of day');

  let i = pos + 19;
  let fraction = '';
  if (line[i] === 0x2e) {
    const start = ++i;
    while (i < line.length && isDigit(line[i]!)) i++;
    const n = i - start;
    if (n === 0 || (n > 6 && !options.lenient)) return bad(start, 'TIME-SECFRAC must have 1 to 6 digits');
    fraction = line.toString('latin1', start, start + Math.min(n, 6));
  }

  let zone: Zone;
  const z = line[i];
  if (z === 0x5a || (options.lenient && z === 0x7a)) {
    zone = 0;
    i++;
  } else if (z === 0x2b || z === 0x2d) {
    const oh = readDigits(line, i + 1, 2);
    const om = readDigits(line, i + 4, 2);
    if (oh < 0 || om < 0 || line[i + 3] !== 0x3a || oh > 23 || om > 59) return bad(i, 'bad TIME-NUMOFFSET');
    zone = (z === 0x2b ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else if (options.lenient) {
    zone = options.zone === 'UTC' ? 0 : 'local';
  } else {
    return bad(i, "expected 'Z' or an offset");
  }

  const iso = isoString(wallClockMs(year, month, day, hour, minute, second, zone), fraction);
  return iso === null ? bad(pos, 'out of range in UTC') : { ok: true, iso, end: i };
}

/** Epoch milliseconds of a wall-clock time (whole seconds). */
export function wallClockMs(
  year: number, month: number, day: number, hour: number, minute: number, second: number, zone: Zone,
): number {
  // Date.UTC allocates nothing, but maps years 0..99 to 1900..1999; only those need setUTCFullYear.
  if (zone !== 'local' && year >= 100) return Date.UTC(year, month - 1, day, hour, minute - zone, second);
  const date = new Date(0);
  if (zone === 'local') {
    date.setFullYear(year, month - 1, day);
    date.setHours(hour, minute, second, 0);
  } else {
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute - zone, second, 0);
  }
  return date.getTime();
}

// Lines arrive in bursts stamped with the same second: remembering the last formatted second saves a Date and
// a toISOString on most lines.
let lastSecondMs = NaN;
let lastBase = '';

/** `YYYY-MM-DDThh:mm:ss[.fraction]Z` of whole-second `ms`, or null when the UTC year leaves 0000..9999. */
export function isoString(ms: number, fraction: string): string | null {
  if (ms !== lastSecondMs) {
    const date = new Date(ms);
    const year = date.getUTCFullYear();
    if (!(year >= 0 && year <= 9999)) return null;
    lastBase = date.toISOString().slice(0, 19);
    lastSecondMs = ms;
  }
  return fraction === '' ? `${lastBase}Z` : `${lastBase}.${fraction}Z`;
}

export function isValidDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The value of `count` ASCII digits at `pos`, or -1 if any is missing or not a digit. */
export function readDigits(line: Buffer, pos: number, count: number): number {
  if (pos + count > line.length) return -1;
  let value = 0;
  for (let i = pos; i < pos + count; i++) {
    const b = line[i]!;
    if (!isDigit(b)) return -1;
    value = value * 10 + (b - D0);
  }
  return value;
}

export function isDigit(b: number): boolean {
  return b >= D0 && b <= D0 + 9;
}
