import type { EventEnvelope } from '../../shared/envelope.js';
import { FACILITIES, SEVERITIES } from './settings.js';

/**
 * What one event becomes on the wire (framing aside), as pure functions over bytes. A syslog line the receiver kept
 * (receiver.syslogKeepRaw) goes out as the device sent it; an RFC 5424 line gets the fanin id element added to its
 * STRUCTURED-DATA and is otherwise untouched. Everything else is rendered as RFC 5424. Written by hand: no syslog
 * library edits a line in place without parsing and re-serialising it, which is exactly what must not happen.
 */

export interface PayloadOptions {
  /** SD-ID of the element that carries the id (`name@PEN`). */
  readonly idSdId: string;
  /** RFC 3164 and unparsed lines: send as they are (no id), or wrap them in an RFC 5424 message that carries it. */
  readonly rfc3164Id: 'verbatim' | 'wrap';
  /** APP-NAME when the tag gives none. */
  readonly appName: string;
  /** PRI of rendered Forward and HTTP events. */
  readonly pri: number;
}

/**
 * How the payload was made, the `kind` label of fanin_uploader_syslog_events_sent_total:
 * - id_inserted: the original RFC 5424 line with the id element added to its STRUCTURED-DATA;
 * - id_present: the original RFC 5424 line already had an element with that SD-ID (another fleet's): sent as is;
 * - verbatim: an RFC 3164 or unparsed line byte for byte, the id not carried (rfc3164Id verbatim);
 * - wrapped: such a line as the MSG of an RFC 5424 message that carries the id (rfc3164Id wrap);
 * - rendered: an event without its original bytes (Forward, HTTP, or syslog kept without raw) rendered as RFC 5424.
 */
export type PayloadKind = 'id_inserted' | 'id_present' | 'verbatim' | 'wrapped' | 'rendered';

export interface Payload {
  readonly bytes: Buffer;
  readonly kind: PayloadKind;
}

const NIL = '-';
/** RFC 3164 §4.3.3: a relay that finds no valid PRI uses 13 (user.notice). */
const DEFAULT_PRI = 13;

/** The payload of one event; `raw` is the line as the device sent it, when the receiver kept it. */
export function eventPayload(id: string, envelope: EventEnvelope, raw: Uint8Array | null, o: PayloadOptions): Payload {
  if (raw !== null && isSyslogFormat(envelope.format)) {
    const line = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (envelope.format === 'rfc5424') {
      const edited = insertIdElement(line, idElement(o.idSdId, id), o.idSdId);
      if (edited) return edited;
      // The receiver parsed it as RFC 5424, so this is not reached; should it be, the line still goes out as sent.
    }
    if (o.rfc3164Id === 'verbatim') return { bytes: line, kind: 'verbatim' };
    return { bytes: wrapLine(line, envelope, id, o), kind: 'wrapped' };
  }
  return { bytes: renderRfc5424(envelope, id, o), kind: 'rendered' };
}

function isSyslogFormat(format: string): boolean {
  return format === 'rfc5424' || format === 'rfc3164' || format === 'raw';
}

/** RFC 5424 §6.3.3: inside a PARAM-VALUE, '"', '\' and ']' are escaped with '\'. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export function idElement(sdId: string, id: string): Buffer {
  return Buffer.from(`[${sdId} id="${escapeParamValue(id)}"]`, 'utf8');
}

export interface SdLocation {
  /** Offset of the STRUCTURED-DATA field (its '-' or first '['). */
  readonly start: number;
  /** Offset just past it. */
  readonly end: number;
  /** The SD-IDs of its elements (empty for '-'). */
  readonly ids: readonly string[];
}

/**
 * Where STRUCTURED-DATA lies in an RFC 5424 line: after `<PRI>VERSION` and five space-separated header fields.
 * Null when the line is not RFC 5424 in shape. Element values are skipped with their escapes, so a ']' or '"'
 * inside a value does not end an element early.
 */
export function locateStructuredData(line: Uint8Array): SdLocation | null {
  if (line[0] !== 0x3c) return null; // <
  let i = 1;
  while (i < line.length && i <= 3 && isDigit(line[i]!)) i++;
  if (line[i] !== 0x3e || i === 1) return null; // >
  i++;
  // VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID: six fields, each followed by one space.
  for (let field = 0; field < 6; field++) {
    const from = i;
    while (i < line.length && line[i] !== 0x20) i++;
    if (i === from || i >= line.length) return null;
    i++;
  }
  const start = i;
  if (line[i] === 0x2d) {
    // -
    return i + 1 === line.length || line[i + 1] === 0x20 ? { start, end: i + 1, ids: [] } : null;
  }
  const ids: string[] = [];
  while (line[i] === 0x5b) {
    // [
    i++;
    const idFrom = i;
    while (i < line.length && line[i] !== 0x20 && line[i] !== 0x5d) i++;
    if (i === idFrom) return null;
    ids.push(Buffer.from(line.subarray(idFrom, i)).toString('latin1'));
    while (line[i] === 0x20) {
      i++;
      while (i < line.length && line[i] !== 0x3d) i++; // PARAM-NAME up to '='
      if (line[i + 1] !== 0x22) return null; // ="
      i += 2;
      while (i < line.length && line[i] !== 0x22) i += line[i] === 0x5c ? 2 : 1; // '\' escapes the next byte
      if (i >= line.length) return null;
      i++; // closing "
    }
    if (line[i] !== 0x5d) return null; // ]
    i++;
  }
  if (ids.length === 0) return null;
  if (i < line.length && line[i] !== 0x20) return null;
  return { start, end: i, ids };
}

/**
 * The RFC 5424 line with `element` added: it replaces a NILVALUE STRUCTURED-DATA, or follows the line's own
 * elements (kept first and unchanged). A line that already holds an element with `sdId` is returned as it is (an
 * SD-ID may appear once per message, RFC 5424 §6.3.2, and the first fleet's id is the one to dedupe on). Null when the
 * line is not RFC 5424 in shape.
 */
export function insertIdElement(line: Buffer, element: Buffer, sdId: string): Payload | null {
  const sd = locateStructuredData(line);
  if (!sd) return null;
  if (sd.ids.includes(sdId)) return { bytes: line, kind: 'id_present' };
  const head = line.subarray(0, sd.ids.length === 0 ? sd.start : sd.end);
  return { bytes: Buffer.concat([head, element, line.subarray(sd.end)]), kind: 'id_inserted' };
}

/**
 * An RFC 3164 or unparsed line as the MSG of an RFC 5424 message: its PRI (13 when it has no valid one), the parsed
 * time and host when known, the id element, then the whole original line, PRI included, byte for byte.
 */
export function wrapLine(line: Buffer, envelope: EventEnvelope, id: string, o: PayloadOptions): Buffer {
  const pri = leadingPri(line) ?? DEFAULT_PRI;
  const header =
    `<${pri}>1 ${timestamp(envelope.time)} ${headerField(envelope.hostname, 255)} ${headerField(envelope.app_name, 48)} ` +
    `${headerField(envelope.proc_id, 128)} ${NIL} `;
  return Buffer.concat([Buffer.from(header, 'utf8'), idElement(o.idSdId, id), Buffer.from(' '), line]);
}

/** The PRI value a line starts with (`<0>`..`<191>`, no leading zeros but `<0>`), or null. */
export function leadingPri(line: Uint8Array): number | null {
  if (line[0] !== 0x3c) return null;
  let i = 1;
  let value = 0;
  while (i < line.length && i <= 3 && isDigit(line[i]!)) {
    value = value * 10 + line[i]! - 0x30;
    i++;
  }
  if (i === 1 || line[i] !== 0x3e || value > 191 || (line[1] === 0x30 && i > 2)) return null;
  return value;
}

/**
 * An event without its original bytes as RFC 5424: Forward and HTTP events with the record as JSON MSG, the tag as
 * APP-NAME, the event time as TIMESTAMP and the record's host (`host` or `hostname`) as HOSTNAME; syslog events from
 * their parsed fields. No BOM: MSG is then MSG-ANY, which receivers keep as it came (a BOM shows up in their output).
 */
export function renderRfc5424(envelope: EventEnvelope, id: string, o: PayloadOptions): Buffer {
  const syslog = isSyslogFormat(envelope.format);
  const pri = syslog ? (priOf(envelope.facility, envelope.severity) ?? o.pri) : o.pri;
  const host = syslog ? envelope.hostname : recordHost(envelope.record);
  const app = syslog ? envelope.app_name : envelope.tag === '' ? o.appName : envelope.tag;
  const procId = syslog ? envelope.proc_id : null;
  const msgId = syslog ? envelope.msg_id : null;
  const sd = structuredData(syslog ? envelope.structured_data : null, o.idSdId, id);
  const message = syslog ? envelope.message : JSON.stringify(envelope.record ?? null);
  const header =
    `<${pri}>1 ${timestamp(envelope.time)} ${headerField(host, 255)} ${headerField(app, 48)} ${headerField(procId, 128)} ` +
    `${headerField(msgId, 32)} ${sd}`;
  return Buffer.from(
    message === null || message === undefined || message === '' ? header : `${header} ${message}`,
    'utf8',
  );
}

function recordHost(record: unknown): string | null {
  if (typeof record !== 'object' || record === null) return null;
  const r = record as Record<string, unknown>;
  for (const key of ['host', 'hostname']) if (typeof r[key] === 'string' && r[key] !== '') return r[key];
  return null;
}

function priOf(facility: string | undefined, severity: string | undefined): number | null {
  const f = FACILITIES.indexOf(facility as (typeof FACILITIES)[number]);
  const s = SEVERITIES.indexOf(severity as (typeof SEVERITIES)[number]);
  return f < 0 || s < 0 ? null : f * 8 + s;
}

/** `facility` and `severity` names (as the settings spell them) to a PRI value. */
export function priValue(facility: string, severity: string): number {
  const pri = priOf(facility, severity);
  if (pri === null) throw new RangeError(`unknown facility or severity: ${facility}.${severity}`);
  return pri;
}

/** The device's own elements (in their order, our SD-ID skipped) followed by the id element. */
function structuredData(sd: EventEnvelope['structured_data'], sdId: string, id: string): string {
  let out = '';
  for (const [name, params] of Object.entries(sd ?? {})) {
    if (name === sdId || !SD_NAME.test(name.split('@')[0]!)) continue;
    out += `[${name}`;
    for (const [param, value] of Object.entries(params)) {
      if (!SD_NAME.test(param)) continue;
      for (const v of Array.isArray(value) ? value : [value]) out += ` ${param}="${escapeParamValue(v)}"`;
    }
    out += ']';
  }
  return out + idElement(sdId, id).toString('utf8');
}

const SD_NAME = /^[!#-<>-\\^-~]{1,32}$/;
const RFC5424_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

const NANOSECOND_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})\d{1,3}(Z|[+-]\d{2}:\d{2})$/;

/**
 * An envelope time as an RFC 5424 TIMESTAMP, or NILVALUE. RFC 5424 allows at most 6 fraction digits, so a
 * nanosecond time (Forward) keeps its microseconds, cut rather than rounded so the second never changes.
 */
export function timestamp(time: string | null): string {
  if (time === null) return NIL;
  if (RFC5424_TIME.test(time)) return time;
  const nanos = NANOSECOND_TIME.exec(time);
  if (nanos !== null) return nanos[1]! + nanos[2]!;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : NIL;
}

/** A header field: PRINTUSASCII only (anything else becomes '_'), at most `max` characters, NILVALUE when empty. */
export function headerField(value: string | null | undefined, max: number): string {
  if (value === null || value === undefined || value === '') return NIL;
  return value.replace(/[^!-~]/g, '_').slice(0, max);
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
