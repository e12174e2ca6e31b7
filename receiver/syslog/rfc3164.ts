// RFC 3164 (BSD syslog): `<PRI>TIMESTAMP HOSTNAME TAG[PID]: MSG`, plus the shapes devices really send:
//   - no HOSTNAME (journald relays, haproxy, pfSense filterlog): a TAG right after the timestamp;
//   - a timestamp of another shape (see rfc3164-stamp.ts), or none (MikroTik, `<15> openvpn[2499]: ...`);
//   - Cisco IOS and NX-OS: `<189>123: host: *Mar  1 00:00:12.345 UTC: %SYS-5-CONFIG_I: ...` — sequence numbers
//     and the `logging origin-id` host, each closed by `: `, a '*' or '.' clock mark, and `: ` instead of a
//     HOSTNAME; the `%FAC-SEV-MNEMONIC:` stays in MSG;
//   - Cisco ASA: `<166>Jan 05 2026 10:00:00 asa01 : %ASA-...`, `<166>Jan 05 2026 10:00:00: %ASA-...`;
//   - FortiGate: `<189>date=2026-01-05 time=10:00:00 devname="fgt01" ... tz="+0100" ...` — no header at all, so
//     time and HOSTNAME come from the key=value pairs and MSG is the whole text;
//   - AIX: `<38>Sep 22 10:11:56 Message forwarded from aix01: sshd[679960]: ...`.
// RFC 3164 describes practice rather than prescribing it, so this parser never fails. MSG is always a tail of
// the text after PRI and everything before it is in a field: when the header cannot be read completely (no
// usable timestamp, a zone name it cannot resolve, a stamp glued to the next word), time is null and MSG is
// the whole text after PRI (except a leading TAG[PID]), so nothing the sender wrote is dropped.

import {
  clockMark,
  isCiscoMnemonic,
  isFortiGate,
  isPrefixStart,
  readCiscoPrefix,
  readFortiGate,
} from './rfc3164-devices.js';
import { readStamp, type StampOptions } from './rfc3164-stamp.js';
import { LINE, decodeMsg, fieldText, indexOfText } from './line-state.js';
import {
  hostTokenEnd,
  isAllDigits,
  isDigit,
  isHostname,
  isLetter,
  isTagByte,
  skipSpaces,
  startsWith,
} from './syslog-bytes.js';
import type { SyslogMessage } from './syslog-message.js';
import { Ascii } from './ascii.js';

/** RFC 3164 says 32, but real tags are longer ('org.gnome.Shell.desktop'); RFC 5424's APP-NAME limit fits. */
const TAG_MAX = 48;
const PID_MAX = 128;
const FORWARDED = Buffer.from('Message forwarded from ');

export type Rfc3164Options = StampOptions;

/** Parses the text after `<PRI>` (starting at `start`). Never throws. */
export function parseRfc3164(
  line: Buffer,
  start: number,
  facility: number,
  severity: number,
  options: Rfc3164Options,
): SyslogMessage {
  const msg: SyslogMessage = {
    format: 'rfc3164',
    facility,
    severity,
    time: null,
    hostname: null,
    appName: null,
    procId: null,
    msgId: null,
    structuredData: null,
    message: '',
  };
  let head = start;
  if ((line[head] ?? 0) === 0xef && (line[head + 1] ?? 0) === 0xbb && (line[head + 2] ?? 0) === 0xbf) head += 3;
  while ((line[head] ?? 0) === Ascii.SP) head++;

  const stampStart = clockMark(line, head);
  let pos = readStamp(line, stampStart, options, msg);
  let ciscoPrefix = false;
  if (pos < 0 && isPrefixStart(line[head])) {
    pos = readCiscoPrefix(line, head, options, msg);
    ciscoPrefix = pos >= 0;
    // `123030: some-host: %SYS-5-...`: Cisco groups and the mnemonic, no stamp.
    if (ciscoPrefix && msg.time === null) return wholeText(line, pos, msg);
  }
  if (pos < 0) return headerless(line, start, head, msg, options);

  if (isLoneColon(line, pos)) {
    // Cisco `timestamp: MSG`: no HOSTNAME field after the stamp (the origin-id, if any, came before it).
    readCiscoBody(line, pos + 2, msg);
    return msg;
  }
  // Glued to something (`Jan  2 03:04:05x`), or an origin-id with a relay header after it: not a header we know.
  if ((pos < line.length && (line[pos] ?? 0) !== Ascii.SP) || (ciscoPrefix && msg.hostname !== null)) {
    msg.time = null;
    msg.hostname = null;
    return wholeText(line, start, msg);
  }
  pos = skipSpaces(line, pos);
  // RFC 3164 5.4 example 4, `1990 Oct 22 10:52:01 TZ-6 scapegoat...`: after a year-first stamp a zone-shaped word
  // that names no zone fanin knows (a POSIX TZ offset has the opposite sign of an ISO one) is neither HOSTNAME nor
  // a shift of the time: it and the rest are MSG, and the time is read in the configured zone.
  if (
    !ciscoPrefix &&
    isDigit(line[stampStart] ?? 0) &&
    (line[stampStart + 4] ?? 0) === Ascii.SP &&
    isZoneLike(line, pos)
  ) {
    return wholeText(line, pos, msg);
  }
  readHostAndTag(line, pos, msg);
  return msg;
}

/**
 * MSG after a Cisco `timestamp: `. Before a `%MNEMONIC`, a host (`<host>: %LINK-...`, `<host> %LINK-...`, when no
 * origin-id came before the stamp) or an IOS XR process (`<process>[<pid>]: %MGBL-...`) is read as such;
 * otherwise all of it is MSG, since Cisco's text after the stamp is free-form.
 */
function readCiscoBody(line: Buffer, pos: number, msg: SyslogMessage): void {
  // Most Cisco lines go straight on with the mnemonic.
  if ((line[pos] ?? 0) === Ascii.PERCENT) {
    msg.message = decodeMsg(line, pos);
    return;
  }
  const tagEnd = readTag(line, pos, msg);
  if (tagEnd >= 0) {
    if (isCiscoMnemonic(line, tagEnd)) {
      if (msg.procId !== null) {
        msg.message = decodeMsg(line, tagEnd);
        return;
      }
      if (msg.hostname === null && isHostname(line, pos, LINE.tagNameEnd)) {
        msg.hostname = msg.appName;
        msg.appName = null;
        msg.message = decodeMsg(line, tagEnd);
        return;
      }
    }
    msg.appName = null;
    msg.procId = null;
  } else if (msg.hostname === null) {
    const end = hostTokenEnd(line, pos);
    if (end > pos && LINE.hostWord && (line[end] ?? 0) === Ascii.SP && isCiscoMnemonic(line, end + 1)) {
      msg.hostname = fieldText(line, pos, end);
      msg.message = decodeMsg(line, end + 1);
      return;
    }
  }
  msg.message = decodeMsg(line, pos);
}

/** `TZ-6`, `EST+5`, `GMT+01:00` followed by SP or the end: 1 to 5 letters, a sign, 1 or 2 digits, `[:]mm`. */
function isZoneLike(line: Buffer, pos: number): boolean {
  let i = pos;
  while (i < pos + 5 && isLetter(line[i] ?? 0)) i++;
  const sign = line[i] ?? 0;
  if (i === pos || (sign !== 0x2b && sign !== 0x2d) || !isDigit(line[i + 1] ?? 0)) return false;
  i += isDigit(line[i + 2] ?? 0) ? 3 : 2;
  if ((line[i] ?? 0) === Ascii.COLON) i++;
  if (isDigit(line[i] ?? 0) && isDigit(line[i + 1] ?? 0)) i += 2;
  return i === line.length || (line[i] ?? 0) === Ascii.SP;
}

/** After the timestamp: `[HOSTNAME SP] [TAG[PID]: ] MSG` with the device variants; fills msg. */
function readHostAndTag(line: Buffer, pos: number, msg: SyslogMessage): void {
  if (isLoneColon(line, pos)) {
    msg.message = decodeMsg(line, pos + 2); // ASA without device-id: `Aug 15 2012 23:30:09 : %ASA-...`
    return;
  }
  if ((line[pos] ?? 0) === FORWARDED[0] && startsWith(line, pos, FORWARDED)) {
    const hostStart = pos + FORWARDED.length;
    const end = indexOfText(line, ': ', hostStart);
    if (end > hostStart && isHostname(line, hostStart, end)) {
      msg.hostname = fieldText(line, hostStart, end);
      readTagAndMessage(line, end + 2, msg);
      return;
    }
  }
  // Missing-HOSTNAME heuristic: if the first token already has the TAG shape (`name:` or `name[pid]:` followed
  // by SP), it is the TAG. A hostname never ends in ':' (IPv6 addresses do not end in one either, and their
  // inner colons fail the "followed by SP" test), so only a host literally named like a tag is misread.
  // A TAG's ':' is the last byte of its SP-delimited token, so a token ending otherwise (a HOSTNAME, mostly) goes
  // straight to the HOSTNAME reading without trying readTag on it, which showed in profiles.
  // One scan finds the token's end and whether it is a HOSTNAME.
  const end = hostTokenEnd(line, pos);
  const hostname = LINE.hostWord;
  const tagEnd = end > pos && (line[end - 1] ?? 0) === Ascii.COLON ? readTag(line, pos, msg) : -1;
  if (tagEnd < 0) {
    readHostThenTag(line, pos, end, hostname, msg);
    return;
  }
  if (msg.procId === null && isCiscoMnemonic(line, tagEnd) && isHostname(line, pos, LINE.tagNameEnd)) {
    // `asa01: %ASA-6-...`, `core-sw-01: %LINK-3-...`: a device's own name, then its mnemonic.
    msg.hostname = msg.appName;
    msg.appName = null;
  }
  msg.message = decodeMsg(line, tagEnd);
}

/**
 * `HOSTNAME SP [TAG[PID]: ] MSG`, the common header; a first word that is no HOSTNAME starts the TAG or MSG.
 * `end` is the end of the word at `pos` (hostTokenEnd) and `hostname` whether the word is one.
 */
function readHostThenTag(line: Buffer, pos: number, end: number, hostname: boolean, msg: SyslogMessage): void {
  if (end > pos && hostname) {
    msg.hostname = fieldText(line, pos, end);
    pos = skipSpaces(line, end);
    // Cisco ASA with `logging device-id`: `asa01 : %ASA-...` — a lone ':' separates host and MSG.
    if (isLoneColon(line, pos)) {
      msg.message = decodeMsg(line, pos + 2);
      return;
    }
  }
  readTagAndMessage(line, pos, msg);
}

/** `[TAG[PID]: ] MSG` at `pos`. */
function readTagAndMessage(line: Buffer, pos: number, msg: SyslogMessage): void {
  const tagEnd = readTag(line, pos, msg);
  msg.message = decodeMsg(line, tagEnd < 0 ? pos : tagEnd);
}

/** A ':' followed by SP or the end of the line: what separates a header from MSG on Cisco devices. */
function isLoneColon(line: Buffer, pos: number): boolean {
  return (line[pos] ?? 0) === Ascii.COLON && (pos + 1 === line.length || (line[pos + 1] ?? 0) === Ascii.SP);
}

/** No timestamp: FortiGate key=value, a leading `TAG[PID]: `, or the whole text as MSG. */
function headerless(
  line: Buffer,
  start: number,
  head: number,
  msg: SyslogMessage,
  options: Rfc3164Options,
): SyslogMessage {
  if (isFortiGate(line, head)) {
    readFortiGate(line, head, msg, options);
    return wholeText(line, start, msg);
  }
  // `<15> openvpn[2499]: ...`: only the TAG[PID] shape is taken; a bare `word: ` is too often just text.
  const tagEnd = readTag(line, head, msg);
  if (tagEnd >= 0 && msg.procId !== null) {
    msg.message = decodeMsg(line, tagEnd);
    return msg;
  }
  msg.appName = null;
  return wholeText(line, start, msg);
}

function wholeText(line: Buffer, start: number, msg: SyslogMessage): SyslogMessage {
  msg.message = decodeMsg(line, start);
  return msg;
}

/**
 * `TAG:` or `TAG[PID]:` followed by SP or the end of the line: writes msg.appName and msg.procId (null without
 * `[PID]`), sets LINE.tagNameEnd and returns where MSG starts; -1, with msg untouched, for any other shape.
 */
function readTag(line: Buffer, pos: number, msg: SyslogMessage): number {
  let i = pos;
  const max = Math.min(line.length, pos + TAG_MAX);
  while (i < max && isTagByte(line[i]!)) i++;
  // A leading '%' is a Cisco/ASA mnemonic (`%ASA-6-302013:`), which belongs to the message, not the TAG; an
  // all-digit one is a sequence number (`585917: Feb  8 ...` after a relay's header).
  if (i === pos || (line[pos] ?? 0) === Ascii.PERCENT || isAllDigits(line, pos, i)) return -1;
  const nameEnd = i;
  let pidStart = -1;
  let pidEnd = -1;
  if ((line[i] ?? 0) === Ascii.OPEN) {
    pidStart = i + 1;
    let close = pidStart;
    const end = Math.min(line.length, pidStart + PID_MAX + 1);
    while (close < end && line[close]! !== Ascii.CLOSE) {
      const b = line[close]!;
      if (b <= Ascii.SP || b >= 0x7f) return -1;
      close++;
    }
    if (close === pidStart || (line[close] ?? 0) !== Ascii.CLOSE) return -1;
    pidEnd = close;
    i = close + 1;
  }
  if ((line[i] ?? 0) !== Ascii.COLON) return -1;
  i++;
  if (i !== line.length && (line[i] ?? 0) !== Ascii.SP) return -1;
  msg.appName = fieldText(line, pos, nameEnd);
  msg.procId = pidStart < 0 ? null : fieldText(line, pidStart, pidEnd);
  LINE.tagNameEnd = nameEnd;
  return i === line.length ? i : i + 1;
}
