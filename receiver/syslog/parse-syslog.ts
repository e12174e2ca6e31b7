// One syslog line (a frame from the TCP decoder, or a UDP datagram) to a SyslogMessage: reads PRI, then picks
// the parser. `<PRI>1 ` is RFC 5424; any other text after PRI is RFC 3164, whose parser always succeeds. A line
// without PRI is RFC 3164 with PRI 13, user.notice (RFC 3164 4.3.3); a line that opens a PRI but breaks it
// (`<999>`, `<abc>`) is not syslog and comes back as an error, like an RFC 5424 line that breaks its grammar.

import { parseRfc3164 } from './rfc3164.js';
import type { StampOptions } from './rfc3164-stamp.js';
import { parseRfc5424 } from './rfc5424.js';
import { beginLine, endLine, takeError } from './line-state.js';
import { isDigit } from './syslog-bytes.js';
import { SyslogParseError, type SyslogParseResult } from './syslog-message.js';
import { resolveZone } from './time-zone.js';
import { Ascii } from './ascii.js';

const MAX_PRI = 191; // facility 23 * 8 + severity 7
/** RFC 3164 4.3.3: a relay that receives a line without PRI gives it facility user (1), severity notice (5). */
const MISSING_PRI_FACILITY = 1;
const MISSING_PRI_SEVERITY = 5;
const STAMP_OPTIONS: StampOptions = { now: new Date(0), zone: 0 };

export interface SyslogParseOptions {
  /** Reference for RFC 3164 year inference: the receive time, normally. */
  now: Date;
  /**
   * Zone of RFC 3164 stamps that carry no offset: 'UTC' (default), 'local' (the process's zone, TZ), or an IANA
   * name such as 'Europe/Berlin' (DST applied per stamp). A name the runtime does not know leaves such stamps
   * unread (time null, MSG the whole text); check it at start-up with isValidTimeZone (time-zone.ts).
   */
  rfc3164TimeZone?: string;
}

/**
 * Parses one line. Never throws: a line that is not syslog comes back as `{ ok: false }` with a stable code and
 * the byte offset, and the caller keeps the raw text (format 'raw').
 */
export function parseSyslog(line: Buffer, options: SyslogParseOptions): SyslogParseResult {
  beginLine(line);
  try {
    if (line.length === 0) return failure(SyslogParseError.of('EMPTY', 'empty line', 0));
    // One options object for every line (parsing is synchronous): allocating one per line showed in profiles.
    const stampOptions = STAMP_OPTIONS;
    stampOptions.now = options.now;
    // Most receivers leave the zone at its default: no call for it (resolveZone stayed in the interpreter).
    const zoneName = options.rfc3164TimeZone;
    stampOptions.zone = zoneName === undefined ? 0 : resolveZone(zoneName);
    if ((line[0] ?? 0) !== Ascii.LT) {
      return { ok: true, message: parseRfc3164(line, 0, MISSING_PRI_FACILITY, MISSING_PRI_SEVERITY, stampOptions) };
    }
    const pri = readPri(line);
    if (pri < 0) return failure(priError(line, pri));
    const facility = pri >> 11;
    const severity = (pri >> 8) & 7;
    const pos = pri & 0xff;
    if ((line[pos] ?? 0) === 0x31 && (line[pos + 1] ?? 0) === Ascii.SP) {
      const message = parseRfc5424(line, pos, facility, severity);
      return message === null ? failure(takeError()) : { ok: true, message };
    }
    if (isOtherVersion(line, pos)) {
      return failure(SyslogParseError.of('BAD_VERSION', 'unsupported syslog protocol VERSION', pos));
    }
    return { ok: true, message: parseRfc3164(line, pos, facility, severity, stampOptions) };
  } catch (err) {
    if (err instanceof SyslogParseError) return failure(err);
    // A bug here must cost one line, not the connection: report it like any bad line.
    return failure(SyslogParseError.of('INTERNAL', `syslog parser bug: ${String(err)}`, 0));
  } finally {
    endLine();
  }
}

/**
 * `<` 1*3DIGIT `>` with a value of 0..191 and no leading zero (RFC 5424 6.2.1; `<0>` is the only zero).
 * Returns `value << 8 | end` (end is the index after '>'), or a negative PRI_* code: no object per line.
 */
function readPri(line: Buffer): number {
  let i = 1;
  let value = 0;
  while (i <= 3 && i < line.length && isDigit(line[i]!)) {
    value = value * 10 + (line[i]! - 0x30);
    i++;
  }
  if (i === 1) return PRI_NO_DIGITS;
  if ((line[i] ?? 0) !== Ascii.GT) return PRI_NOT_CLOSED;
  if (i > 2 && (line[1] ?? 0) === 0x30) return PRI_LEADING_ZERO;
  if (value > MAX_PRI) return PRI_TOO_LARGE;
  return (value << 8) | (i + 1);
}

const PRI_NO_DIGITS = -1;
const PRI_NOT_CLOSED = -2;
const PRI_LEADING_ZERO = -3;
const PRI_TOO_LARGE = -4;

function priError(line: Buffer, code: number): SyslogParseError {
  switch (code) {
    case PRI_NO_DIGITS:
      return SyslogParseError.of('BAD_PRI', 'PRI has no digits', 1);
    case PRI_LEADING_ZERO:
      return SyslogParseError.of('BAD_PRI', 'PRI has a leading zero', 1);
    case PRI_TOO_LARGE: {
      const end = line.indexOf(Ascii.GT);
      return SyslogParseError.of('BAD_PRI', `PRI ${line.toString('latin1', 1, end)} is above ${MAX_PRI}`, 1);
    }
    default: {
      let i = 1;
      while (i <= 3 && i < line.length && isDigit(line[i]!)) i++;
      return SyslogParseError.of('BAD_PRI', "PRI is not 1 to 3 digits closed by '>'", i);
    }
  }
}

/**
 * An RFC 5424-shaped header with a VERSION other than 1: `NONZERO-DIGIT 0*2DIGIT SP` followed by a NILVALUE
 * or a full-date (`2 2024-...`, `2 - `). Checking what follows keeps an RFC 3164 MSG that happens to start
 * with a number (`<13>5 files removed`) an RFC 3164 line.
 */
function isOtherVersion(line: Buffer, pos: number): boolean {
  if ((line[pos] ?? 0) === 0x30 || !isDigit(line[pos] ?? 0)) return false;
  let i = pos + 1;
  while (i < pos + 3 && isDigit(line[i] ?? 0)) i++;
  if ((line[i] ?? 0) !== Ascii.SP) return false;
  i++;
  if ((line[i] ?? 0) === Ascii.NIL) return (line[i + 1] ?? 0) === Ascii.SP;
  for (let k = 0; k < 4; k++) if (!isDigit(line[i + k] ?? 0)) return false;
  return (line[i + 4] ?? 0) === Ascii.NIL;
}

function failure(error: SyslogParseError): SyslogParseResult {
  return { ok: false, error };
}
