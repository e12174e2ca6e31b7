// One syslog line (a frame from the TCP decoder, or a UDP datagram) to a SyslogMessage: reads PRI, then picks
// the parser. `<PRI>1 ` is RFC 5424; any other text after PRI is RFC 3164, whose parser always succeeds.

import { parseRfc3164 } from './rfc3164.js';
import { parseRfc5424 } from './rfc5424.js';
import { SyslogParseError, type SyslogParseResult } from './syslog-message.js';
import { isDigit } from './syslog-time.js';

const SP = 0x20;
const NIL = 0x2d;
const LT = 0x3c;
const GT = 0x3e;
const MAX_PRI = 191; // facility 23 * 8 + severity 7

export interface SyslogParseOptions {
  /** Reference for RFC 3164 year inference: the receive time, normally. */
  now: Date;
  /** Zone of RFC 3164 stamps that carry no offset. Default 'UTC'. */
  rfc3164TimeZone?: 'UTC' | 'local';
}

/**
 * Parses one line. Never throws: a line that is not syslog comes back as `{ ok: false }` with a stable code and
 * the byte offset, and the caller keeps the raw text (format 'raw').
 */
export function parseSyslog(line: Buffer, options: SyslogParseOptions): SyslogParseResult {
  try {
    if (line.length === 0) return failure(new SyslogParseError('EMPTY', 'empty line', 0));
    const pri = readPri(line);
    if (pri instanceof SyslogParseError) return failure(pri);
    const facility = pri.value >> 3;
    const severity = pri.value & 7;
    const pos = pri.end;
    if (line[pos] === 0x31 && line[pos + 1] === SP) {
      return { ok: true, message: parseRfc5424(line, pos, facility, severity) };
    }
    if (isOtherVersion(line, pos)) {
      return failure(new SyslogParseError('BAD_VERSION', 'unsupported syslog protocol VERSION', pos));
    }
    const zone = options.rfc3164TimeZone ?? 'UTC';
    return { ok: true, message: parseRfc3164(line, pos, facility, severity, { now: options.now, zone }) };
  } catch (err) {
    if (err instanceof SyslogParseError) return failure(err);
    // A bug here must cost one line, not the connection: report it like any bad line.
    return failure(new SyslogParseError('INTERNAL', `syslog parser bug: ${String(err)}`, 0));
  }
}

/** `<` 1*3DIGIT `>` with a value of 0..191 and no leading zero (RFC 5424 6.2.1; `<0>` is the only zero). */
function readPri(line: Buffer): { value: number; end: number } | SyslogParseError {
  if (line[0] !== LT) return new SyslogParseError('BAD_PRI', "line does not start with '<'", 0);
  let i = 1;
  let value = 0;
  while (i <= 3 && i < line.length && isDigit(line[i]!)) {
    value = value * 10 + (line[i]! - 0x30);
    i++;
  }
  if (i === 1) return new SyslogParseError('BAD_PRI', 'PRI has no digits', 1);
  if (line[i] !== GT) return new SyslogParseError('BAD_PRI', "PRI is not 1 to 3 digits closed by '>'", i);
  if (i > 2 && line[1] === 0x30) return new SyslogParseError('BAD_PRI', 'PRI has a leading zero', 1);
  if (value > MAX_PRI) return new SyslogParseError('BAD_PRI', `PRI ${value} is above ${MAX_PRI}`, 1);
  return { value, end: i + 1 };
}

/**
 * An RFC 5424-shaped header with a VERSION other than 1: `NONZERO-DIGIT 0*2DIGIT SP` followed by a NILVALUE
 * or a full-date (`2 2024-...`, `2 - `). Checking what follows keeps an RFC 3164 MSG that happens to start
 * with a number (`<13>5 files removed`) an RFC 3164 line.
 */
function isOtherVersion(line: Buffer, pos: number): boolean {
  if (line[pos] === 0x30 || !isDigit(line[pos] ?? 0)) return false;
  let i = pos + 1;
  while (i < pos + 3 && isDigit(line[i] ?? 0)) i++;
  if (line[i] !== SP) return false;
  i++;
  if (line[i] === NIL) return line[i + 1] === SP;
  for (let k = 0; k < 4; k++) if (!isDigit(line[i + k] ?? 0)) return false;
  return line[i + 4] === NIL;
}

function failure(error: SyslogParseError): SyslogParseResult {
  return { ok: false, error };
}
