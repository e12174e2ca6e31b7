import { type Disposition, errorCatalog } from '../../shared/errors/disposition.js';

/**
 * Every way Forward input can be refused, with a stable code, the metric reason it is counted under
 * (`fanin_receiver_forward_errors_total{reason}`) and its disposition. One catalog, as fastify keeps its errors.
 *
 * Dispositions (shared/errors/disposition.ts, docs/errors.md):
 *   close:    the connection is closed without an ack; the sender resends the chunk (to this or another receiver).
 *             Used for everything after which the byte stream cannot be trusted, and for limits.
 *   continue: the offending event is left out and counted; the rest of the message is taken and acked (fluentd
 *             in_forward drops an entry whose record is nil the same way).
 */
export const FORWARD_ERRORS = errorCatalog({
  FRAME_TOO_LARGE: { reason: 'frame_too_large', disposition: 'close' },
  MSGPACK_INVALID: { reason: 'msgpack_invalid', disposition: 'close' },
  MSGPACK_TRUNCATED: { reason: 'msgpack_invalid', disposition: 'close' },
  MSGPACK_TOO_DEEP: { reason: 'msgpack_too_deep', disposition: 'close' },
  JSON_UNSUPPORTED: { reason: 'json_unsupported', disposition: 'close' },
  BAD_MESSAGE: { reason: 'bad_message', disposition: 'close' },
  BAD_TIME: { reason: 'bad_time', disposition: 'close' },
  BAD_OPTION: { reason: 'bad_option', disposition: 'close' },
  UNSUPPORTED_COMPRESSION: { reason: 'unsupported_compression', disposition: 'close' },
  GZIP_INVALID: { reason: 'gzip_invalid', disposition: 'close' },
  DECOMPRESSED_TOO_LARGE: { reason: 'decompressed_too_large', disposition: 'close' },
  TOO_MANY_EVENTS: { reason: 'too_many_events', disposition: 'close' },
  CHUNK_TOO_LARGE: { reason: 'chunk_too_large', disposition: 'close' },
  HANDSHAKE_FAILED: { reason: 'handshake_failed', disposition: 'close' },
  TLS_HANDSHAKE_FAILED: { reason: 'tls_handshake_failed', disposition: 'close' },
  IDLE_TIMEOUT: { reason: 'idle_timeout', disposition: 'close' },
  NIL_RECORD: { reason: 'nil_record', disposition: 'continue' },
});

export type ForwardErrorCode = keyof typeof FORWARD_ERRORS;
export type ForwardErrorReason = (typeof FORWARD_ERRORS)[ForwardErrorCode]['reason'];

export class ForwardError extends Error {
  override readonly name = 'ForwardError';
  constructor(
    readonly code: ForwardErrorCode,
    message: string,
  ) {
    super(message);
  }

  get reason(): ForwardErrorReason {
    return FORWARD_ERRORS[this.code].reason;
  }
  get disposition(): Disposition {
    return FORWARD_ERRORS[this.code].disposition;
  }
}

/** Every reason label, so the metric's series exist (at 0) from the start. */
export const FORWARD_ERROR_REASONS: readonly ForwardErrorReason[] = [
  ...new Set(Object.values(FORWARD_ERRORS).map((e) => e.reason)),
];
