/**
 * The one shape of an event time in NDJSON lines (docs/sinks.md, "time"): RFC 3339 in UTC,
 * `YYYY-MM-DDTHH:MM:SS[.fff[fff[fff]]]Z`. The fraction keeps every digit the source gave and is padded with zeros to
 * whole milliseconds, microseconds or nanoseconds, so a reader needs one pattern with three fraction widths (what
 * Go's RFC3339Nano, Java's Instant, Python's fromisoformat and PostgreSQL's timestamptz all take) and can still tell
 * a whole-second source from a millisecond one. Receivers already write UTC with `Z`; a syslog RFC 5424 stamp keeps
 * its own 1 to 6 digits, which is the case this pads. A time of another shape (a body fanin did not write) is left
 * as it came: the sink writes what it was given rather than guess.
 */
const SHORT_FRACTION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$/;

/** Length of `YYYY-MM-DDTHH:MM:SS.` + `Z`: a time of this shape is this plus its fraction digits long. */
export const TIME_FIXED_CHARS = 21;

/** True when a time of this many characters may need padding: its fraction is not 0, 3, 6 or 9 digits. */
export function mayNeedPadding(length: number): boolean {
  const digits = length - TIME_FIXED_CHARS;
  return digits >= 1 && digits <= 8 && digits % 3 !== 0;
}

/** The time in the documented shape: its fraction padded to the next group of three digits. */
export function ndjsonTime(time: string): string {
  if (!mayNeedPadding(time.length)) return time;
  if (!SHORT_FRACTION.test(time)) return time;
  return `${time.slice(0, -1)}${'00'.slice(0, paddingOf(time.length))}Z`;
}

/** Zeros that bring a time of this length to a whole group of three fraction digits. */
export function paddingOf(length: number): number {
  return (3 - ((length - TIME_FIXED_CHARS) % 3)) % 3;
}
