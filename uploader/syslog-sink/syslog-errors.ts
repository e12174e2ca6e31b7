import { type Disposition, errorCatalog } from '../../shared/errors/disposition.js';

/**
 * Every way a write can fail at run time, with a stable code, its `reason` label and its disposition. All are
 * `retry`: the events go to the next server, and when none is left the write throws and the uploader retries it with
 * backoff while its AMQP deliveries stay unacknowledged (then the secondary after maxAttempts). Nothing a collector
 * does makes a batch unsendable for good; what retrying cannot fix (a bad server list, unreadable TLS files) is a
 * ConfigError at start-up (syslog-sink-config.ts), before any event is taken.
 */
export const SYSLOG_FAILURES = errorCatalog({
  SYSLOG_CONNECT_FAILED: { reason: 'connect', disposition: 'retry' },
  SYSLOG_CONNECT_TIMEOUT: { reason: 'connect_timeout', disposition: 'retry' },
  /** The collector's certificate failed verification, or it refused ours: retried, since an operator may fix either side. */
  SYSLOG_TLS_FAILED: { reason: 'tls', disposition: 'retry' },
  SYSLOG_CONNECTION_CLOSED: { reason: 'closed', disposition: 'retry' },
  SYSLOG_WRITE_TIMEOUT: { reason: 'write_timeout', disposition: 'retry' },
  SYSLOG_SEND_FAILED: { reason: 'send', disposition: 'retry' },
});

export type SyslogErrorCode = keyof typeof SYSLOG_FAILURES;

export class SyslogSendError extends Error {
  override readonly name = 'SyslogSendError';
  constructor(
    readonly code: SyslogErrorCode,
    message: string,
  ) {
    super(message);
  }

  get reason(): string {
    return SYSLOG_FAILURES[this.code].reason;
  }
  get disposition(): Disposition {
    return SYSLOG_FAILURES[this.code].disposition;
  }
}

/** TLS verification errors Node reports by code (certificate chain, host name, expiry). */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_)/;

/** Any thrown value as a SyslogSendError; `connected` says whether the connection had been established. */
export function asSyslogError(err: unknown, connected: boolean): SyslogSendError {
  if (err instanceof SyslogSendError) return err;
  const e = err as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(err);
  if (typeof e?.code === 'string' && TLS_CODES.test(e.code))
    return new SyslogSendError('SYSLOG_TLS_FAILED', `${e.code}: ${message}`);
  return new SyslogSendError(connected ? 'SYSLOG_CONNECTION_CLOSED' : 'SYSLOG_CONNECT_FAILED', message);
}
