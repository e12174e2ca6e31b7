import { type Disposition, errorCatalog } from '../../shared/errors/disposition.js';

/**
 * Every way a RELP session can be refused, with a stable code, the metric reason it is counted under
 * (`fanin_receiver_relp_errors_total{reason}`) and its disposition. One catalog, as the Forward input keeps its own.
 *
 * Dispositions (shared/errors/disposition.ts, docs/errors.md):
 *   close:    no more frames are read; the `rsp` of every frame whose batch the broker confirmed is still written, then
 *           `serverclose` and the connection ends. The sender (librelp) resends every frame it holds unacknowledged,
 *           on a new connection. The RELP specification asks exactly this of a peer that detects a problem.
 *   continue: the frame is answered `rsp 500` and the session goes on (a command this server does not offer).
 */
export const RELP_ERRORS = errorCatalog({
  BAD_TXNR: { reason: 'bad_frame', disposition: 'close' },
  BAD_COMMAND: { reason: 'bad_frame', disposition: 'close' },
  BAD_DATALEN: { reason: 'bad_frame', disposition: 'close' },
  MISSING_TRAILER: { reason: 'bad_frame', disposition: 'close' },
  DATA_TOO_LARGE: { reason: 'frame_too_large', disposition: 'close' },
  TXNR_OUT_OF_SEQUENCE: { reason: 'txnr_out_of_sequence', disposition: 'close' },
  NOT_OPEN: { reason: 'not_open', disposition: 'close' },
  BAD_OFFERS: { reason: 'bad_offers', disposition: 'close' },
  UNEXPECTED_RSP: { reason: 'unexpected_rsp', disposition: 'close' },
  IDLE_TIMEOUT: { reason: 'idle_timeout', disposition: 'close' },
  TLS_HANDSHAKE_FAILED: { reason: 'tls_handshake_failed', disposition: 'close' },
  UNKNOWN_COMMAND: { reason: 'unknown_command', disposition: 'continue' },
});

export type RelpErrorCode = keyof typeof RELP_ERRORS;
export type RelpErrorReason = (typeof RELP_ERRORS)[RelpErrorCode]['reason'];

export class RelpError extends Error {
  override readonly name = 'RelpError';
  constructor(
    readonly code: RelpErrorCode,
    message: string,
  ) {
    super(message);
  }

  get reason(): RelpErrorReason {
    return RELP_ERRORS[this.code].reason;
  }
  get disposition(): Disposition {
    return RELP_ERRORS[this.code].disposition;
  }
}

/** Every reason label, so the metric's series exist (at 0) from the start. */
export const RELP_ERROR_REASONS: readonly RelpErrorReason[] = [
  ...new Set(Object.values(RELP_ERRORS).map((e) => e.reason)),
];
