import type { Writable } from 'node:stream';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import { decodeBatches, rejectedLine } from '../decoded-events.js';
import { formatEventLine } from '../ndjson/ndjson-line.js';
import type { Sink, SinkWriteResult } from '../sink.js';

/**
 * The file sink's NDJSON lines on standard output, for trying things out (`FANIN_SINKS=stdout fanin uploader | jq`).
 * A write resolves once the stream took the bytes (it waits for 'drain' when stdout is slow), not on any durable
 * storage. The uploader's own logs are on stdout too: set FANIN_LOG_LEVEL=warn, or read them apart by their `level`.
 */
export class StdoutSink implements Sink {
  constructor(
    readonly name = 'stdout',
    private readonly out: Writable = process.stdout,
  ) {}

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    const { events, rejected } = decodeBatches(batches);
    let text = '';
    for (const e of events) text += formatEventLine(e.id, e.envelope);
    for (const r of rejected) text += rejectedLine(r);
    if (text !== '') {
      await new Promise<void>((resolve, reject) => {
        this.out.write(text, (err) => (err ? reject(err) : resolve()));
      });
    }
    return { written: events.length, rejected: rejected.length, receivedAt: events.map((e) => e.envelope.received_at) };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
