// Where a zone-less wall-clock time is: a fixed offset, the process's zone, or an IANA zone ('Europe/Berlin').
// RFC 3164 stamps carry no zone, so the receiver must be told which one the senders use (rfc3164TimeZone).
//
// IANA zones go through Intl.DateTimeFormat, which is slow (microseconds per call), so offsets are cached per
// 15-minute slice of UTC: every real zone's offsets are whole quarter hours and its transitions fall on a quarter
// hour, so one slice has one offset. Lines arrive in time order, so the cache hits almost always.

/** Minutes east of UTC, the process's local zone, or an IANA zone. */
export type Zone = number | 'local' | NamedZone;

const SLICE_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const CACHE_MAX = 4096;

export class NamedZone {
  readonly name: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #offsets = new Map<number, number>();

  /** Throws RangeError for a name Intl does not know. */
  constructor(name: string) {
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    this.name = this.#format.resolvedOptions().timeZone;
  }

  /** Offset in minutes east of UTC at the instant `utcMs`. */
  offsetAt(utcMs: number): number {
    const slice = Math.floor(utcMs / SLICE_MS);
    let offset = this.#offsets.get(slice);
    if (offset === undefined) {
      offset = this.#compute(slice * SLICE_MS);
      if (this.#offsets.size >= CACHE_MAX) this.#offsets.clear();
      this.#offsets.set(slice, offset);
    }
    return offset;
  }

  /**
   * Epoch milliseconds of the wall-clock time `wallMs` (a wall time encoded as if it were UTC). Like Temporal's
   * 'compatible' disambiguation: a time that occurs twice (clocks set back) is the earlier instant; a time that
   * never occurs (clocks set forward) is read with the offset from before the gap, so it lands after the gap.
   */
  toUtc(wallMs: number): number {
    const before = this.offsetAt(wallMs - DAY_MS);
    const after = this.offsetAt(wallMs + DAY_MS);
    const early = wallMs - before * 60_000;
    if (before === after) return early;
    const late = wallMs - after * 60_000;
    const earlyValid = this.offsetAt(early) === before;
    const lateValid = this.offsetAt(late) === after;
    if (earlyValid && lateValid) return Math.min(early, late);
    return lateValid && !earlyValid ? late : early;
  }

  #compute(utcMs: number): number {
    let y = 0,
      mo = 0,
      d = 0,
      h = 0,
      mi = 0,
      s = 0;
    for (const part of this.#format.formatToParts(utcMs)) {
      const v = Number(part.value);
      switch (part.type) {
        case 'year':
          y = v;
          break;
        case 'month':
          mo = v;
          break;
        case 'day':
          d = v;
          break;
        case 'hour':
          h = v;
          break;
        case 'minute':
          mi = v;
          break;
        case 'second':
          s = v;
          break;
        default:
          break;
      }
    }
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    date.setUTCHours(h, mi, s, 0);
    return Math.round((date.getTime() - utcMs) / 60_000);
  }
}

const named = new Map<string, NamedZone | null>();

/**
 * The Zone for a configuration value: 'UTC' (or 'Z', 'GMT'), 'local', or an IANA name. Null for a name Intl does
 * not know. Resolved once per name and cached, so calling it per line costs a Map lookup.
 */
export function resolveZone(name: string | undefined): Zone | null {
  if (name === undefined || name === 'UTC' || name === 'Z' || name === 'GMT') return 0;
  if (name === 'local') return 'local';
  let zone = named.get(name);
  if (zone === undefined) {
    try {
      zone = new NamedZone(name);
    } catch {
      zone = null;
    }
    named.set(name, zone);
  }
  return zone;
}

/** For configuration validation: true if `name` is 'UTC', 'local' or an IANA zone this runtime knows. */
export function isValidTimeZone(name: string): boolean {
  return resolveZone(name) !== null;
}
