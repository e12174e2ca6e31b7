import type { ProcessedBatch } from '../shared/batch-codec.js';
import type { Disposition } from '../shared/errors/disposition.js';

/** A sink durably writes processed batches; the uploader acks them only after `write` resolves. */
export interface Sink {
  readonly name: string;
  write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult>;
  close(): Promise<void>;
  /** Close and reopen files (SIGUSR1, log rotation); sinks without files need not implement it. */
  reopen?(): Promise<void>;
}

export interface SinkWriteResult {
  readonly written: number;
  /** Events whose body did not decode to an envelope; written to the sink's reject file with the reason. */
  readonly rejected: number;
  /** Receipt times of the written events, for the end-to-end latency histogram. */
  readonly receivedAt: readonly number[];
}

/**
 * An error that retrying cannot fix. Disposition dead-letter: the uploader sets that batch alone aside in
 * `<ns>.dead` with the message; any other error a sink throws is retried (docs/errors.md).
 */
export class PermanentSinkError extends Error {
  override readonly name = 'PermanentSinkError';
  readonly code: string = 'SINK_PERMANENT';
  readonly disposition: Disposition = 'dead-letter';
}
