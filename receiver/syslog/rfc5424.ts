// RFC 5424 (section 6): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG]`.
// Strict: a field that breaks the grammar fails the line (the caller keeps it raw), so what passes is exact.
// A hand-written scanner over the bytes, not a regular expression: one pass, no backtracking, and the error
// can say which field failed and at which byte.

import { readStructuredData } from './structured-data.js';
import { decodeMsg, fail, fieldText } from './line-state.js';
import type { SyslogMessage } from './syslog-message.js';
import { readIsoTimestamp } from './syslog-time.js';
import { Ascii } from './ascii.js';

// Field limits from the ABNF in RFC 5424 section 6.
const HOSTNAME_MAX = 255;
const APP_NAME_MAX = 48;
const PROCID_MAX = 128;
const MSGID_MAX = 32;
const STRICT = { lenient: false, zone: 0 } as const;

/**
 * Parses an RFC 5424 line. `pos` is the byte right after `<PRI>`, where VERSION starts.
 * Null after fail() (syslog-message.ts): the dispatcher takes the error and returns it as the result.
 */
export function parseRfc5424(line: Buffer, pos: number, facility: number, severity: number): SyslogMessage | null {
  if ((line[pos] ?? 0) !== 0x31 || (line[pos + 1] ?? 0) !== Ascii.SP) {
    fail('BAD_VERSION', 'RFC 5424 VERSION must be 1', pos);
    return null;
  }
  pos += 2;

  let time: string | null = null;
  if ((line[pos] ?? 0) === Ascii.NIL && (line[pos + 1] ?? 0) === Ascii.SP) {
    pos += 2;
  } else {
    const ts = readIsoTimestamp(line, pos, STRICT);
    if (!ts.ok) {
      fail('BAD_TIMESTAMP', `bad RFC 5424 TIMESTAMP: ${ts.reason}`, ts.offset);
      return null;
    }
    if ((line[ts.end] ?? 0) !== Ascii.SP) {
      fail('BAD_TIMESTAMP', 'TIMESTAMP not followed by SP', ts.end);
      return null;
    }
    time = ts.iso;
    pos = ts.end + 1;
  }

  let end = headerField(line, pos, HOSTNAME_MAX, 'HOSTNAME');
  if (end < 0) return null;
  const hostname = nilOrAscii(line, pos, end);
  pos = end + 1;
  end = headerField(line, pos, APP_NAME_MAX, 'APP-NAME');
  if (end < 0) return null;
  const appName = nilOrAscii(line, pos, end);
  pos = end + 1;
  end = headerField(line, pos, PROCID_MAX, 'PROCID');
  if (end < 0) return null;
  const procId = nilOrAscii(line, pos, end);
  pos = end + 1;
  end = headerField(line, pos, MSGID_MAX, 'MSGID');
  if (end < 0) return null;
  const msgId = nilOrAscii(line, pos, end);
  pos = end + 1;

  const sd = readStructuredData(line, pos);
  if (sd === null) return null;
  pos = sd.end;
  let message = '';
  if (pos < line.length) {
    // MSG is separated by exactly one SP; anything glued to the SD (e.g. `][` typos, `]x`) is malformed SD.
    if ((line[pos] ?? 0) !== Ascii.SP) {
      fail('BAD_STRUCTURED_DATA', 'STRUCTURED-DATA not followed by SP or end', pos);
      return null;
    }
    message = decodeMsg(line, pos + 1);
  }

  return {
    format: 'rfc5424',
    facility,
    severity,
    time,
    hostname,
    appName,
    procId,
    msgId,
    structuredData: sd.data,
    message,
  };
}

/**
 * Scans one header field (1*max PRINTUSASCII) starting at `pos`; returns the index of the SP ending it, or fail().
 * Every header field is followed by SP because STRUCTURED-DATA is mandatory (at least '-').
 */
function headerField(line: Buffer, pos: number, max: number, name: string): number {
  const limit = Math.min(line.length, pos + max + 1);
  let i = pos;
  for (; i < limit; i++) {
    const b = line[i]!;
    // One unsigned comparison for the common byte (printable US-ASCII, 0x21..0x7e); SP and bad bytes are rarer.
    if ((b - 0x21) >>> 0 > 0x7e - 0x21) {
      if (b === Ascii.SP) break;
      return fail('BAD_HEADER', `${name} has a byte outside printable US-ASCII`, i);
    }
  }
  if (i === pos) return fail('BAD_HEADER', `${name} is empty`, pos);
  if (i - pos > max) return fail('BAD_HEADER', `${name} longer than ${max} bytes`, pos + max);
  if (i >= line.length) return fail('BAD_HEADER', `line ends inside the header at ${name}`, i);
  return i;
}

function nilOrAscii(line: Buffer, start: number, end: number): string | null {
  if (end - start === 1 && (line[start] ?? 0) === Ascii.NIL) return null;
  // Validated as printable US-ASCII already, so latin1 is an exact and the fastest decoding.
  return fieldText(line, start, end);
}
