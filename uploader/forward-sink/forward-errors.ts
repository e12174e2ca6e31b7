import type { Disposition } from '../../shared/errors/disposition.js';

/**
 * Every way one chunk can fail to reach one server, with a stable code and the label it is counted under. All of
 * them have the same disposition: the chunk is retried (on another server if one is available, otherwise the
 * uploader retries the whole write with backoff while its AMQP deliveries stay unacknowledged).
 */
export const FORWARD_FAILURES = {
  FORWARD_CONNECT_FAILED: 'connect',
  FORWARD_HANDSHAKE_FAILED: 'handshake',
  FORWARD_AUTH_FAILED: 'auth',
  FORWARD_CONNECTION_CLOSED: 'closed',
  FORWARD_ACK_TIMEOUT: 'ack_timeout',
  FORWARD_PROTOCOL_ERROR: 'protocol',
  FORWARD_NO_SERVER: 'no_server',
} as const;

export type ForwardErrorCode = keyof typeof FORWARD_FAILURES;
export type ForwardFailureReason = (typeof FORWARD_FAILURES)[ForwardErrorCode];

export class ForwardSendError extends Error {
  override readonly name = 'ForwardSendError';
  /** True when the server (not the sink) ended an established connection. */
  constructor(
    readonly code: ForwardErrorCode,
    message: string,
    readonly closedByServer = false,
  ) {
    super(message);
  }

  /** The `reason` label of fanin_uploader_forward_send_failures_total: a small fixed set. */
  get reason(): ForwardFailureReason {
    return FORWARD_FAILURES[this.code];
  }
  /** Always retry: see the catalogue above. */
  get disposition(): Disposition {
    return 'retry';
  }
}

/** Any thrown value as a ForwardSendError (socket errors from Node become FORWARD_CONNECTION_CLOSED). */
export function asForwardError(
  err: unknown,
  fallback: ForwardErrorCode = 'FORWARD_CONNECTION_CLOSED',
): ForwardSendError {
  if (err instanceof ForwardSendError) return err;
  return new ForwardSendError(fallback, err instanceof Error ? err.message : String(err));
}
