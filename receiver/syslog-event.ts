import type { EventEnvelope, Transport } from '../shared/envelope.js';
import { syslogEventKey } from '../shared/event-key.js';
import { encodeBody } from '../shared/batch-codec.js';
import { parseSyslog } from './syslog/parse-syslog.js';
import { facilityName, severityName } from './syslog/syslog-names.js';

export interface EncodedEvent {
  readonly key: Buffer;
  readonly body: Uint8Array;
  readonly parsed: boolean;
  readonly parseErrorCode: string | null;
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
}

/**
 * One syslog frame (framing already removed) to its dedup key and encoded envelope. The key covers the sender and
 * the frame bytes only; the envelope adds what this receiver knows (receipt time, its id, transport).
 */
export function encodeSyslogFrame(frame: Buffer, ctx: SyslogContext, now: Date): EncodedEvent {
  const key = syslogEventKey(ctx.hashSourceAddress ? ctx.source : null, frame);
  const result = parseSyslog(frame, { now, rfc3164TimeZone: ctx.rfc3164TimeZone });
  let envelope: EventEnvelope;
  if (result.ok) {
    const m = result.message;
    const facility = facilityName(m.facility);
    const severity = severityName(m.severity);
    envelope = {
      tag: `syslog.${facility}.${severity}`, time: m.time, received_at: now.getTime(), receiver: ctx.receiverId,
      source: ctx.source, transport: ctx.transport, format: m.format, message: m.message,
      facility, severity, hostname: m.hostname, app_name: m.appName, proc_id: m.procId, msg_id: m.msgId,
      structured_data: m.structuredData,
    };
  } else {
    envelope = {
      tag: 'syslog.raw', time: null, received_at: now.getTime(), receiver: ctx.receiverId, source: ctx.source,
      transport: ctx.transport, format: 'raw', message: frame.toString('utf8'),
      parse_error: `${result.error.code}: ${result.error.message}`,
    };
  }
  return { key, body: encodeBody(envelope), parsed: result.ok, parseErrorCode: result.ok ? null : result.error.code };
}

/** Datagrams and frames may end in CR/LF or NUL that the sender added as a terminator; they are not content. */
export function stripTrailingTerminators(buf: Buffer): Buffer {
  let end = buf.length;
  while (end > 0) {
    const c = buf[end - 1];
    if (c === 0x0a || c === 0x0d || c === 0x00) end--; else break;
  }
  return end === buf.length ? buf : buf.subarray(0, end);
}
