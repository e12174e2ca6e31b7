// Compares fanin's parse of a line with rsyslog's (its %jsonmesg% properties) and names the reason for every
// field that differs. Each reason is a deliberate difference documented in test/fixtures/syslog/DIFFERENCES.md;
// a difference no rule explains is 'UNEXPLAINED', and the test fails on it.

import type { SyslogParseResult } from '../../receiver/syslog/syslog-message.js';
import { FUTURE_MAX_MS } from '../../receiver/syslog/rfc3164-stamp.js';

/** What the comparison needs from one rsyslog %jsonmesg% record, normalised. */
export interface RsyslogParse {
  facility: number;
  severity: number;
  /** Epoch ms of `timereported`; null when rsyslog found no timestamp (it then reports the receive time). */
  timeMs: number | null;
  /** Null when rsyslog fell back to the sender's address. */
  hostname: string | null;
  syslogtag: string;
  programname: string;
  procid: string;
  msgid: string;
  msg: string;
  /** The first characters of rawmsg, to check that the record belongs to the corpus line. */
  rawPrefix: string;
}

export type DifferenceReason =
  | 'msg-leading-space'
  | 'tag-in-msg'
  | 'cisco-mnemonic-in-msg'
  | 'sequence-number-in-msg'
  | 'zone-name-in-msg'
  | 'program-name-slash'
  | 'bom-stripped'
  | 'nul-escaped'
  | 'device-header'
  | 'headerless-tag'
  | 'year-inference'
  | 'year-after-time'
  | 'cisco-colon-after-stamp'
  | 'impossible-date'
  | 'hostname-charset'
  | 'nil-value'
  | 'no-timestamp'
  | 'strict-rfc5424'
  | 'invalid-pri'
  | 'cisco-host-before-mnemonic'
  | 'zone-word-in-msg'
  | 'UNEXPLAINED';

export interface Difference {
  field: string;
  fanin: unknown;
  rsyslog: unknown;
  reason: DifferenceReason;
}

const BOM = '\uFEFF';
const YEAR_AFTER_TIME = /^<\d+>\w{3} +\d+ \d\d:\d\d:\d\d \d{4} /;
const COLON_AFTER_STAMP = /^<\d+>\w{3} +\d+ \d\d:\d\d:\d\d: /;
const IMPOSSIBLE_DATE = /^(<\d+>)?(Feb (29|30|31)|Apr 31|Jun 31|Sep 31|Nov 31) /;
const HEADERLESS_TAG = /^<\d+> *[\w./-]+\[\d+\]: /;
/** A year-first stamp followed by a zone-shaped word fanin does not read as a zone (RFC 3164 5.4 example 4). */
const YEAR_FIRST_ZONE_WORD = /^<\d+>\d{4} \w{3} +\d+ \d\d:\d\d:\d\d [A-Za-z]{1,5}[+-]\d/;
const ZONE_TAG = /^[A-Za-z]{2,5}([+-]\d{1,2}(:\d\d)?)?:$/;

/** `nowMs`: the receive time fanin parsed with, so year inference is judged against it. */
export function compareWithRsyslog(
  line: string,
  fanin: SyslogParseResult,
  rs: RsyslogParse,
  nowMs: number,
): Difference[] {
  const out: Difference[] = [];
  const diff = (field: string, a: unknown, b: unknown, reason: DifferenceReason) =>
    out.push({ field, fanin: a, rsyslog: b, reason });
  if (!fanin.ok) {
    const code = fanin.error.code;
    // rsyslog's RFC 5424 parser accepts what fanin's strict one rejects; fanin keeps such a line raw, and a line
    // whose PRI is broken too (rsyslog guesses one).
    const reason =
      code === 'BAD_PRI'
        ? 'invalid-pri'
        : ['BAD_STRUCTURED_DATA', 'BAD_TIMESTAMP', 'BAD_HEADER', 'BAD_VERSION'].includes(code)
          ? 'strict-rfc5424'
          : 'UNEXPLAINED';
    diff('format', `raw (${code})`, 'parsed', reason);
    return out;
  }
  const m = fanin.message;
  const tagInMsg = rs.syslogtag !== '' && m.message.startsWith(rs.syslogtag);
  const tagReason: DifferenceReason = rs.syslogtag.startsWith('%')
    ? 'cisco-mnemonic-in-msg'
    : /^\d+:?$/.test(rs.syslogtag)
      ? 'sequence-number-in-msg'
      : ZONE_TAG.test(rs.syslogtag)
        ? 'zone-name-in-msg'
        : m.message.startsWith('date=')
          ? 'device-header'
          : 'tag-in-msg';
  // A header shape rsyslog's default parsers (pmrfc5424, pmrfc3164) do not read explains the fields it drives.
  let lineReason: DifferenceReason | null = null;
  if (YEAR_FIRST_ZONE_WORD.test(line)) lineReason = 'zone-word-in-msg';
  else if (m.time !== null && rs.timeMs === null) lineReason = 'device-header';
  else if (YEAR_AFTER_TIME.test(line)) lineReason = 'year-after-time';
  else if (COLON_AFTER_STAMP.test(line)) lineReason = 'cisco-colon-after-stamp';
  else if (line.includes('Message forwarded from ') || /^<\d+>[*.]/.test(line)) lineReason = 'device-header';
  else if (m.time === null && rs.timeMs !== null && IMPOSSIBLE_DATE.test(line)) lineReason = 'impossible-date';
  else if (m.time === null && HEADERLESS_TAG.test(line)) lineReason = 'headerless-tag';
  else if (
    m.time === null &&
    rs.timeMs === null &&
    line.endsWith(m.message) &&
    line.slice(line.startsWith('<') ? line.indexOf('>') + 1 : 0) === m.message
  )
    lineReason = 'no-timestamp';
  // A Cisco host right before the %MNEMONIC (`some-host: %SYS-5-...`, `core-sw-02 %LINK-...`), which rsyslog
  // leaves in msg.
  const hostBeforeMnemonic =
    m.hostname !== null &&
    m.message.startsWith('%') &&
    (rs.msg.trimStart() === `${m.hostname}: ${m.message}` || rs.msg.trimStart() === `${m.hostname} ${m.message}`);
  const orLine = (reason: DifferenceReason | null): DifferenceReason => reason ?? lineReason ?? 'UNEXPLAINED';

  if (m.facility !== rs.facility || m.severity !== rs.severity)
    diff('pri', [m.facility, m.severity], [rs.facility, rs.severity], 'UNEXPLAINED');

  const faninMs = m.time === null ? null : Date.parse(m.time);
  if (faninMs !== rs.timeMs) {
    let reason: DifferenceReason | null = null;
    if (faninMs !== null && rs.timeMs !== null) {
      const dy = new Date(rs.timeMs).getUTCFullYear() - new Date(faninMs).getUTCFullYear();
      const sameWallClock = new Date(rs.timeMs).toISOString().slice(4) === new Date(faninMs).toISOString().slice(4);
      // rsyslog takes the current year; fanin the latest year that puts the stamp at most FUTURE_MAX_MS ahead of
      // the receive time. They part when this year's date is further ahead than that (rsyslog a year ahead: a Dec
      // line received in November) or next year's is within it (fanin a year ahead: a Jan line received in December).
      const rsyslogAhead = dy === 1 && rs.timeMs > nowMs + FUTURE_MAX_MS;
      const faninAhead = dy === -1 && faninMs > nowMs && faninMs <= nowMs + FUTURE_MAX_MS;
      if (sameWallClock && (rsyslogAhead || faninAhead)) reason = 'year-inference';
      // rsyslog reads a Cisco zone name as a TAG and the time as UTC; fanin applies the zone.
      else if (ZONE_TAG.test(rs.syslogtag) && (rs.timeMs - faninMs) % 900_000 === 0) reason = 'zone-name-in-msg';
    }
    diff('time', m.time, rs.timeMs === null ? null : new Date(rs.timeMs).toISOString(), orLine(reason));
  }

  if (m.hostname !== rs.hostname) {
    let reason: DifferenceReason | null = null;
    if (m.hostname === null && rs.hostname === '-') reason = 'nil-value';
    else if (hostBeforeMnemonic && rs.hostname === null) reason = 'cisco-host-before-mnemonic';
    else if (m.hostname !== null && rs.hostname === null && m.hostname === rs.programname && m.message.startsWith('%'))
      reason = 'cisco-mnemonic-in-msg';
    else if (m.hostname !== null && rs.hostname === null && tagInMsg) reason = tagReason;
    else if (m.hostname === null && rs.hostname !== null && !/^[A-Za-z0-9._:-]+$/.test(rs.hostname))
      reason = 'hostname-charset';
    diff('hostname', m.hostname, rs.hostname, orLine(reason));
  }

  const rsApp = rs.programname === '' ? null : rs.programname;
  if (m.appName !== rsApp) {
    let reason: DifferenceReason | null = null;
    if (m.appName === null && rsApp === '-') reason = 'nil-value';
    else if (m.appName !== null && rsApp !== null && m.appName.split('/')[0] === rsApp) reason = 'program-name-slash';
    else if (m.appName === null && tagInMsg) reason = tagReason;
    else if (m.hostname !== null && m.hostname === rsApp && m.message.startsWith('%')) reason = 'cisco-mnemonic-in-msg';
    else if (/^\d+:?$/.test(rs.syslogtag)) reason = 'sequence-number-in-msg';
    else if (ZONE_TAG.test(rs.syslogtag)) reason = 'zone-name-in-msg';
    diff('appName', m.appName, rsApp, orLine(reason));
  }

  const rsPid = rs.procid === '-' || rs.procid === '' ? null : rs.procid;
  if (m.procId !== rsPid) diff('procId', m.procId, rsPid, orLine(null));
  const rsMsgId = rs.msgid === '-' || rs.msgid === '' ? null : rs.msgid;
  if (m.msgId !== rsMsgId) diff('msgId', m.msgId, rsMsgId, orLine(null));

  if (m.message !== rs.msg) {
    let reason: DifferenceReason | null = null;
    if (rs.msg === BOM + m.message) reason = 'bom-stripped';
    else if (hostBeforeMnemonic) reason = 'cisco-host-before-mnemonic';
    else if (rs.msg === m.message.replaceAll('\0', '#000')) reason = 'nul-escaped';
    else if (rs.msg.trimStart() === m.message.trimStart() && rs.msg.length > m.message.length)
      reason = 'msg-leading-space';
    else if (tagInMsg && m.message === rs.syslogtag + rs.msg) reason = tagReason;
    diff('message', m.message, rs.msg, orLine(reason));
  }
  return out;
}

/** Normalises one line of rsyslog's %jsonmesg% output. */
export function fromJsonmesg(record: Record<string, string | null>): RsyslogParse {
  const s = (k: string) => record[k] ?? '';
  const reported = Date.parse(s('timereported'));
  const generated = Date.parse(s('timegenerated'));
  const host = s('hostname');
  return {
    facility: Number(s('syslogfacility')),
    severity: Number(s('syslogseverity')),
    // Without a timestamp rsyslog reports the receive time; a stamp within 2 s of it is taken for that.
    timeMs: Number.isNaN(reported) || Math.abs(reported - generated) < 2000 ? null : reported,
    hostname: host === s('fromhost-ip') || host === s('fromhost') ? null : host,
    syslogtag: s('syslogtag'),
    programname: s('programname'),
    procid: s('procid'),
    msgid: s('msgid'),
    msg: s('msg'),
    rawPrefix: s('rawmsg').slice(0, 40),
  };
}
