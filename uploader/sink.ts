import type { ProcessedBatch } from '../shared/batch-codec.js';

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

/** An error that retrying cannot fix (the batch must be dead-lettered); any other error is retried. */
export class PermanentSinkError extends Error {
  override readonly name = 'PermanentSinkError';
}
