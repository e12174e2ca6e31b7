// The RFC 3164 TAG, `TAG:` or `TAG[PID]:`: read by the general RFC 3164 path after whatever header it found, and by
// the common-shape reader after its HOSTNAME.

import { LINE, fieldText } from './line-state.js';
import { isAllDigits, isTagByte } from './syslog-bytes.js';
import type { SyslogMessage } from './syslog-message.js';
import { Ascii } from './ascii.js';

/** RFC 3164 says 32, but real tags are longer ('org.gnome.Shell.desktop'); RFC 5424's APP-NAME limit fits. */
const TAG_MAX = 48;
const PID_MAX = 128;

/**
 * `TAG:` or `TAG[PID]:` followed by SP or the end of the line: writes msg.appName and msg.procId (null without
 * `[PID]`), sets LINE.tagNameEnd and returns where MSG starts; -1, with msg untouched, for any other shape.
 */
export function readTag(line: Buffer, pos: number, msg: SyslogMessage): number {
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
