import { ExtensionCodec } from '@msgpack/msgpack';
import { ForwardError } from './forward-errors.js';

/**
 * Forward event times (spec v1 "EventTime"; v1.5 adds a metadata map next to the time).
 *
 *   integer          seconds since the epoch
 *   float            seconds with a fraction (some clients; rounded to the nanosecond)
 *   EventTime        ext type 0, 8 bytes: uint32 seconds, uint32 nanoseconds, big-endian (fixext 8 or ext 8)
 *   [time, {…}]      v1.5: one of the above and a metadata map
 *   nil or 0         "no time": fluentd substitutes its clock; fanin keeps null, since a receipt time differs per
 *                    copy and the copies would never match (the HTTP input does the same)
 *
 * Times become ISO 8601 UTC with exactly nine fraction digits, whatever form the sender used: an EventTime keeps
 * its nanoseconds, and an integer time and an EventTime with zero nanoseconds name the same instant with the same
 * string, hence the same dedup key.
 */
export class EventTime {
  constructor(
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {}
}

export const EVENT_TIME_EXT_TYPE = 0;

/** The msgpack extension codec of the Forward protocol: ext 0 decodes to EventTime. */
export const forwardExtensionCodec = new ExtensionCodec();
forwardExtensionCodec.register({
  type: EVENT_TIME_EXT_TYPE,
  encode: (value: unknown) => (value instanceof EventTime ? packEventTime(value) : null),
  decode: (data: Uint8Array) => {
    if (data.byteLength !== 8) throw new ForwardError('BAD_TIME', `EventTime has ${data.byteLength} bytes, not 8`);
    const view = new DataView(data.buffer, data.byteOffset, 8);
    const nanoseconds = view.getUint32(4);
    if (nanoseconds > 999_999_999)
      throw new ForwardError('BAD_TIME', `EventTime nanoseconds ${nanoseconds} out of range`);
    return new EventTime(view.getUint32(0), nanoseconds);
  },
});

export function packEventTime(t: EventTime): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, t.seconds);
  view.setUint32(4, t.nanoseconds);
  return out;
}

/** Latest second an ISO 8601 year can hold (9999-12-31T23:59:59Z). */
const MAX_SECONDS = 253402300799;

export interface ForwardTime {
  /** ISO 8601 UTC with nanoseconds, or null when the sender gave no time. */
  readonly time: string | null;
  /** v1.5 metadata, or null. */
  readonly metadata: Record<string, unknown> | null;
}

/** A decoded time slot to its ISO form; throws BAD_TIME for anything that is not a time. */
export function parseForwardTime(value: unknown): ForwardTime {
  if (Array.isArray(value)) {
    const [time, metadata, ...rest] = value as unknown[];
    if (
      rest.length > 0 ||
      Array.isArray(time) ||
      typeof metadata !== 'object' ||
      metadata === null ||
      Array.isArray(metadata) ||
      metadata instanceof Uint8Array
    ) {
      throw new ForwardError('BAD_TIME', 'v1.5 time is not [time, metadata map]');
    }
    return { time: isoOf(time), metadata: metadata as Record<string, unknown> };
  }
  return { time: isoOf(value), metadata: null };
}

function isoOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof EventTime) {
    if (value.seconds === 0 && value.nanoseconds === 0) return null;
    return formatNanos(value.seconds, value.nanoseconds);
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value === 0) return null;
    if (value < 0 || value > MAX_SECONDS) throw new ForwardError('BAD_TIME', `time ${value} is out of range`);
    let seconds = Math.floor(value);
    let nanos = Math.round((value - seconds) * 1e9);
    if (nanos >= 1e9) {
      seconds += 1;
      nanos -= 1e9;
    }
    return formatNanos(seconds, nanos);
  }
  throw new ForwardError('BAD_TIME', `time is a ${typeof value}, not an integer, float or EventTime`);
}

/** `2023-11-14T22:13:20.123456789Z` */
export function formatNanos(seconds: number, nanoseconds: number): string {
  const whole = new Date(seconds * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  return `${whole.slice(0, 19)}.${String(nanoseconds).padStart(9, '0')}Z`;
}
