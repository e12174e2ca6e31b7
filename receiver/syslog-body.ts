import { PARSED_SYSLOG_SCHEMA } from '../shared/compact-body.js';
import { NO_SEVERITY, type RouteKey } from '../shared/event-route.js';
import { beginTuple, endTuple, packedValues, tupleRun, tupleValue } from '../shared/record-packer.js';
import type { SyslogMessage } from './syslog/syslog-message.js';
import { facilityName, severityName, syslogTag } from './syslog/syslog-names.js';

/** The receiver's own fields of a syslog body; SyslogContext has them (syslog-event.ts). */
export interface SyslogBodySource {
  readonly receiverId: string;
  readonly source: string | null;
  readonly transport: string;
}

/**
 * The compact body of a parsed syslog line (shared/compact-body.ts, schema PARSED_SYSLOG_SCHEMA), written straight
 * into the record packer's block: the same bytes as packTuple over syslogBodyValues (syslog-event.ts; tested), without
 * an array of values per event. Values that repeat from line to line are packed once and copied: the schema and
 * tag, and the facility and severity names, per PRI; the receiver's id, the source and the transport, per sender.
 * `raw`: the frame's bytes, appended when the receiver keeps them (SyslogContext.keepRaw).
 */
export function packParsedSyslogBody(
  m: SyslogMessage,
  ctx: SyslogBodySource,
  receivedAt: number,
  raw: Uint8Array | null,
): Uint8Array {
  const pri = m.facility * 8 + m.severity;
  const known = m.facility >= 0 && m.facility < 24 && m.severity >= 0 && m.severity < 8;
  // Every run is looked up (and made on a miss) before the tuple begins: making one packs too.
  const head = known ? (HEADS[pri] ??= headRun(m.facility, m.severity)) : headRun(m.facility, m.severity);
  const names = known ? (NAMES[pri] ??= namesRun(m.facility, m.severity)) : namesRun(m.facility, m.severity);
  const receiver = receiverRun(ctx);
  beginTuple(raw === null ? 16 : 17);
  tupleRun(head);
  tupleValue(m.time);
  tupleValue(receivedAt);
  tupleRun(receiver);
  tupleValue(m.format);
  tupleValue(m.message);
  tupleRun(names);
  tupleValue(m.hostname);
  tupleValue(m.appName);
  tupleValue(m.procId);
  tupleValue(m.msgId);
  tupleValue(m.structuredData);
  if (raw !== null) tupleValue(raw);
  return endTuple();
}

/** The route key of a parsed line: one shared object per PRI (route keys are never changed). */
export function parsedSyslogRoute(facility: number, severity: number): RouteKey {
  if (facility >= 0 && facility < 24 && severity >= 0 && severity < 8)
    return (ROUTES[facility * 8 + severity] ??= routeOf(facility, severity));
  return routeOf(facility, severity);
}

const HEADS: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(24 * 8).fill(undefined);
const NAMES: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(24 * 8).fill(undefined);
const ROUTES: (RouteKey | undefined)[] = new Array<RouteKey | undefined>(24 * 8).fill(undefined);

function headRun(facility: number, severity: number): Uint8Array {
  return packedValues([PARSED_SYSLOG_SCHEMA, syslogTag(facility, severity)]);
}

function namesRun(facility: number, severity: number): Uint8Array {
  return packedValues([facilityName(facility), severityName(severity)]);
}

function routeOf(facility: number, severity: number): RouteKey {
  return { tag: syslogTag(facility, severity), severity: severity >= 0 && severity < 8 ? severity : NO_SEVERITY };
}

// The last sender's run: a connection's lines come in runs, and UDP makes a context per datagram, so the fields
// are compared, not the context object.
let lastReceiverId = '';
let lastSource: string | null = null;
let lastTransport = '';
let lastRun: Uint8Array | null = null;

function receiverRun(ctx: SyslogBodySource): Uint8Array {
  if (
    lastRun === null ||
    ctx.receiverId !== lastReceiverId ||
    ctx.source !== lastSource ||
    ctx.transport !== lastTransport
  ) {
    lastRun = packedValues([ctx.receiverId, ctx.source, ctx.transport]);
    lastReceiverId = ctx.receiverId;
    lastSource = ctx.source;
    lastTransport = ctx.transport;
  }
  return lastRun;
}
