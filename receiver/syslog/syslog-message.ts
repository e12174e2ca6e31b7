// The parsed shape of one syslog line and the error for a line that is not syslog, shared by the RFC 5424 and
// RFC 3164 parsers and their callers. The state of the line being parsed is in line-state.ts.

export type SyslogFormat = 'rfc5424' | 'rfc3164';

/**
 * SD-ID -> PARAM-NAME -> PARAM-VALUE. A PARAM-NAME repeated inside one SD-ELEMENT becomes an array, in order.
 * Plain objects shaped as JSON.parse would make them: the names come from the network, so a name such as
 * `__proto__` is an own key, never a prototype change. Read with Object.hasOwn, not `in`.
 */
export type StructuredData = Record<string, Record<string, string | string[]>>;

export interface SyslogMessage {
  format: SyslogFormat;
  /** 0..23 (PRI >> 3). */
  facility: number;
  /** 0..7 (PRI & 7). */
  severity: number;
  /** ISO 8601 in UTC ending in 'Z', with the fractional digits as sent (at most 6); null for NILVALUE or none. */
  time: string | null;
  /** null for NILVALUE '-' or when the sender left it out. */
  hostname: string | null;
  /** RFC 5424 APP-NAME, or the RFC 3164 TAG. */
  appName: string | null;
  /** RFC 5424 PROCID, or the RFC 3164 `[PID]`. */
  procId: string | null;
  msgId: string | null;
  structuredData: StructuredData | null;
  /** MSG decoded as UTF-8, BOM stripped; invalid bytes become U+FFFD, never dropped. */
  message: string;
}

/**
 * Stable codes: callers count and route on them, so never rename one. The set is open on purpose (the shared
 * interface says so), so that a catch-all such as 'INTERNAL' fits too.
 */
/* eslint-disable @typescript-eslint/no-redundant-type-constituents -- the known codes are listed for readers */
export type SyslogParseErrorCode =
  'EMPTY' | 'BAD_PRI' | 'BAD_VERSION' | 'BAD_TIMESTAMP' | 'BAD_HEADER' | 'BAD_STRUCTURED_DATA' | string;
/* eslint-enable @typescript-eslint/no-redundant-type-constituents */

/**
 * A line that is not valid syslog. Disposition: continue — the stream is fine, only this line is bad, and the
 * caller keeps its raw text (format 'raw'), so nothing is lost.
 */
export class SyslogParseError extends Error {
  override readonly name = 'SyslogParseError';
  readonly code: SyslogParseErrorCode;
  /** Byte offset in the line where parsing failed. */
  readonly offset: number;

  constructor(code: SyslogParseErrorCode, message: string, offset: number) {
    // A bad line is data, not a bug: a stack trace would say nothing and capturing one costs more than the parse.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${message} (at byte ${offset})`);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.offset = offset;
  }

  /**
   * The parsers' own way to make one: the same fields without running Error's constructor, which costs far more
   * than the parse of the line (the error it makes has no stack, which would say nothing about a bad line anyway).
   */
  static of(code: SyslogParseErrorCode, message: string, offset: number): SyslogParseError {
    const err = Object.create(SyslogParseError.prototype) as {
      -readonly [K in keyof SyslogParseError]: SyslogParseError[K];
    };
    err.name = 'SyslogParseError';
    err.message = `${message} (at byte ${offset})`;
    err.code = code;
    err.offset = offset;
    return err;
  }
}

export type SyslogParseResult = { ok: true; message: SyslogMessage } | { ok: false; error: SyslogParseError };
