// The RFC 3164 header most senders write, `Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG` (or `TAG: MSG`, or no TAG),
// read in one forward pass. The general path (rfc3164.ts) must first rule out every device shape it knows (Cisco
// prefixes, clock marks, years, zones, lone colons, AIX relays, hosts that look like TAGs), probing for each; this
// reader takes only the bytes of the plain shape and gives up, returning null, at the first byte that could start
// any other, so that the general path then parses the line from the start and every line gets the general path's
// result.

import { decodeMsg, fieldText } from './line-state.js';
import { inferYear, monthAt, type StampOptions } from './rfc3164-stamp.js';
import { readTag } from './rfc3164-tag.js';
import { isDigit, plainHostEnd, readTwoDigits, startsWith } from './syslog-bytes.js';
import type { SyslogMessage } from './syslog-message.js';
import { formatIso, isoString, wallClockMs } from './syslog-time.js';
import { Ascii } from './ascii.js';

const FORWARDED = Buffer.from('Message forwarded from ');

/**
 * Whether the line may have the common shape at `start`: a month's SP and the hour's ':' where the shape puts
 * them. Cheap enough to test inline, so that lines of other shapes (a year before the time, a sequence number, no
 * stamp) go straight to the general path without a call.
 */
export function mayBeCommonShape(line: Buffer, start: number): boolean {
  return (
    (line[start + 3] ?? 0) === Ascii.SP &&
    ((line[start + 9] ?? 0) === Ascii.COLON || (line[start + 8] ?? 0) === Ascii.COLON)
  );
}

/**
 * The message of the common shape starting at `start` (after PRI), or null when the line has any other shape.
 * Only fixed-offset zones: a named or local zone's stamp takes the general path.
 */
export function readCommonShape(
  line: Buffer,
  start: number,
  facility: number,
  severity: number,
  options: StampOptions,
): SyslogMessage | null {
  const zone = options.zone;
  const month = monthAt(line, start);
  if (month === 0 || typeof zone !== 'number' || (line[start + 3] ?? 0) !== Ascii.SP) return null;
  let i = start + 4;
  if ((line[i] ?? 0) === Ascii.SP) i++;
  let day = readTwoDigits(line, i);
  if (day >= 0) i += 2;
  else if (isDigit(line[i] ?? 0)) day = line[i++]! - Ascii.D0;
  else return null;
  const hour = readTwoDigits(line, i + 1);
  const minute = readTwoDigits(line, i + 4);
  const second = readTwoDigits(line, i + 7);
  // A fraction, a year, a zone or a ':' after the time is a device's stamp; a leap second is folded there.
  if (
    (line[i] ?? 0) !== Ascii.SP ||
    (line[i + 3] ?? 0) !== Ascii.COLON ||
    (line[i + 6] ?? 0) !== Ascii.COLON ||
    (line[i + 9] ?? 0) !== Ascii.SP ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return null;
  }
  const hostStart = i + 10;
  const hostEnd = plainHostEnd(line, hostStart);
  const tagStart = hostEnd + 1;
  // A four-digit word there is a year; `Message forwarded from` is an AIX relay's; two spaces leave MSG's start
  // to the general path's rules, and a ':' after the host is Cisco ASA's `asa01 : %ASA-...`.
  if (
    hostEnd < 0 ||
    (hostEnd - hostStart === 4 && isDigit(line[hostStart]!)) ||
    (line[tagStart] ?? 0) === Ascii.SP ||
    (line[tagStart] ?? 0) === Ascii.COLON ||
    ((line[hostStart] ?? 0) === FORWARDED[0] && startsWith(line, hostStart, FORWARDED))
  ) {
    return null;
  }
  const time = yearlessTime(month, day, hour, minute, second, zone, options.now);
  if (time === null) return null;
  const msg: SyslogMessage = {
    format: 'rfc3164',
    facility,
    severity,
    time,
    hostname: fieldText(line, hostStart, hostEnd),
    appName: null,
    procId: null,
    msgId: null,
    structuredData: null,
    message: '',
  };
  const msgStart = readTag(line, tagStart, msg);
  msg.message = decodeMsg(line, msgStart < 0 ? tagStart : msgStart);
  return msg;
}

/** The ISO time of a stamp without a year in a fixed-offset zone, or null when no year makes it a date. */
function yearlessTime(
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: number,
  now: Date,
): string | null {
  const year = inferYear(month, day, hour, minute, second, zone, now);
  if (year < 0) return null;
  return zone === 0
    ? formatIso(year, month, day, hour, minute, second, '')
    : isoString(wallClockMs(year, month, day, hour, minute, second, zone), '');
}
