import type { EventEnvelope, Transport } from '../shared/envelope.js';
import { syslogEventKey } from '../shared/event-key.js';
import { expandCompactBody, PARSED_SYSLOG_SCHEMA, RAW_SYSLOG_SCHEMA } from '../shared/compact-body.js';
import { NO_SEVERITY, type RouteKey } from '../shared/event-route.js';
import { packTuple } from '../shared/record-packer.js';
import { packParsedSyslogBody, parsedSyslogRoute } from './syslog-body.js';
import { parseSyslog } from './syslog/parse-syslog.js';
import type { SyslogParseError } from './syslog/syslog-message.js';
import { facilityName, severityName, syslogTag } from './syslog/syslog-names.js';

export interface EncodedEvent {
  readonly key: Uint8Array;
  readonly body: Uint8Array;
  readonly parsed: boolean;
  readonly parseErrorCode: string | null;
  /** Tag and severity, for routing to sinks without decoding the body. */
  readonly route: RouteKey;
}

export interface SyslogContext {
  readonly receiverId: string;
  readonly source: string | null;
  readonly transport: Transport;
  readonly hashSourceAddress: boolean;
  /**
   * Zone of RFC 3164 timestamps that carry none: 'UTC' (default), 'local' or an IANA name ('Europe/Berlin').
   * Validate it at start-up with isValidTimeZone (syslog/time-zone.ts); an unknown name leaves such stamps unread.
   */
  readonly rfc3164TimeZone?: string;
  /**
   * Append the frame's bytes to the body (compact-body.ts, the trailing raw frame), so the syslog sink can hand the
   * line on exactly as the device sent it. Off by default: it roughly doubles a syslog body, which every broker hop
   * and every sink pays for.
   */
  readonly keepRaw?: boolean;
}

const RAW_ROUTE: RouteKey = { tag: 'syslog.raw', severity: NO_SEVERITY };

/**
 * One syslog frame (framing already removed) to its dedup key and encoded envelope. The key covers the sender and
 * the frame bytes only; the envelope adds what this receiver knows (receipt time, its id, transport). The envelope
 * travels as a compact body (shared/compact-body.ts).
 */
export function encodeSyslogFrame(frame: Buffer, ctx: SyslogContext, now: Date): EncodedEvent {
  const key = syslogEventKey(ctx.hashSourceAddress ? ctx.source : null, frame);
  const result = parseSyslog(frame, { now, rfc3164TimeZone: ctx.rfc3164TimeZone });
  if (result.ok) {
    // The common case, written without an array of values (syslog-body.ts); the same bytes as the path below.
    const m = result.message;
    const body = packParsedSyslogBody(m, ctx, now.getTime(), ctx.keepRaw === true ? frame : null);
    return { key, body, parsed: true, parseErrorCode: null, route: parsedSyslogRoute(m.facility, m.severity) };
  }
  const { values, parseErrorCode, route } = rawBodyValues(frame, ctx, now, result.error);
  if (ctx.keepRaw === true) values.push(frame);
  return { key, body: packTuple(values), parsed: false, parseErrorCode, route };
}

/**
 * The compact body of one syslog frame, `[schema, value…]` in the schema's field order (compact-body.ts): the parsed
 * fields, or the raw text with the reason when it does not parse.
 */
export function syslogBodyValues(
  frame: Buffer,
  ctx: SyslogContext,
  now: Date,
): { values: unknown[]; parseErrorCode: string | null; route: RouteKey } {
  const result = parseSyslog(frame, { now, rfc3164TimeZone: ctx.rfc3164TimeZone });
  if (result.ok) {
    const m = result.message;
    const tag = syslogTag(m.facility, m.severity);
    return {
      route: { tag, severity: m.severity >= 0 && m.severity < 8 ? m.severity : NO_SEVERITY },
      values: [
        PARSED_SYSLOG_SCHEMA,
        tag,
        m.time,
        now.getTime(),
        ctx.receiverId,
        ctx.source,
        ctx.transport,
        m.format,
        m.message,
        facilityName(m.facility),
        severityName(m.severity),
        m.hostname,
        m.appName,
        m.procId,
        m.msgId,
        m.structuredData,
      ],
      parseErrorCode: null,
    };
  }
  return rawBodyValues(frame, ctx, now, result.error);
}

/** The compact body values of a line that did not parse: its text, with the reason. */
function rawBodyValues(
  frame: Buffer,
  ctx: SyslogContext,
  now: Date,
  error: SyslogParseError,
): { values: unknown[]; parseErrorCode: string; route: RouteKey } {
  return {
    route: RAW_ROUTE,
    values: [
      RAW_SYSLOG_SCHEMA,
      'syslog.raw',
      null,
      now.getTime(),
      ctx.receiverId,
      ctx.source,
      ctx.transport,
      'raw',
      frame.toString('utf8'),
      `${error.code}: ${error.message}`,
    ],
    parseErrorCode: error.code,
  };
}

/** The envelope of one syslog frame as an object (tests, the encoder bench). */
export function syslogEnvelope(frame: Buffer, ctx: SyslogContext, now: Date): EventEnvelope {
  return expandCompactBody(syslogBodyValues(frame, ctx, now).values) as unknown as EventEnvelope;
}

/** Datagrams and frames may end in CR/LF or NUL that the sender added as a terminator; they are not content. */
export function stripTrailingTerminators(buf: Buffer): Buffer {
  let end = buf.length;
  while (end > 0) {
    const c = buf[end - 1];
    if (c === 0x0a || c === 0x0d || c === 0x00) end--;
    else break;
  }
  return end === buf.length ? buf : buf.subarray(0, end);
}
