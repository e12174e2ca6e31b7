/**
 * New-event batches exactly as a receiver makes them: the bench's syslog lines keyed and encoded by the receiver's
 * own code (encodeSyslogFrame), packed by its EventBatcher with the default batch bounds of shared/config/settings.ts
 * (or others, to see what bigger batches would buy), and encoded by the real batch codec. A benchmark of the broker then moves the bytes fanin moves.
 */
import { randomBytes } from 'node:crypto';
import { encodeNewEventBatch, encodeProcessedBatch, newBatchId } from '../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import { settings } from '../../shared/config/settings.js';
import { EventBatcher, type SealedBatch } from '../../receiver/event-batcher.js';
import { encodeSyslogFrame } from '../../receiver/syslog-event.js';
import { benchLine } from '../fanout-load.js';

export interface EncodedBatch {
  readonly events: number;
  /** The AMQP message body: a new batch, or a processed batch (shared/batch-codec.ts). */
  readonly payload: Buffer;
}

/** The receiver's batch bounds; fanin's defaults unless a bench asks for others. */
export interface BatchBounds {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

export const DEFAULT_BATCH_BOUNDS: BatchBounds = {
  maxEvents: settings.batchMaxEvents.default,
  maxBytes: settings.batchMaxBytes.default,
};

export interface BatchPool {
  readonly receiverId: string;
  readonly bootId: string;
  readonly batches: readonly EncodedBatch[];
}

/**
 * `count` full batches of one receiver (the batcher's last, partial batch is dropped: under load every batch is
 * sealed by a bound, not by the age timer).
 */
export function faninBatchPool(receiverId: string, count: number, bounds = DEFAULT_BATCH_BOUNDS): BatchPool {
  const { bootId, sealed } = sealBatches(receiverId, count, bounds);
  const batches = sealed.map((b) => ({
    events: b.bodies.length,
    payload: encodeNewEventBatch({ receiverId, bootId, seq: b.seq, keys: b.keys, bodies: b.bodies }),
  }));
  return { receiverId, bootId, batches };
}

/**
 * The processed batches a worker publishes for such batches at fan-out `fanOut`: one per new batch, holding the
 * share of its events decided unique (1 / fanOut of them on average, since every copy but one is a duplicate), each
 * with its id. These are what every `<ns>.sink.<name>` queue carries.
 */
export function processedBatchPool(
  receiverId: string,
  count: number,
  fanOut: number,
  bounds = DEFAULT_BATCH_BOUNDS,
): BatchPool {
  const { bootId, sealed } = sealBatches(receiverId, count, bounds);
  const batches = sealed.map((b) => {
    const unique = Math.max(1, Math.round(b.bodies.length / fanOut));
    const ids = Array.from(
      { length: unique },
      (_, i) => `${b.keys.subarray(i * EVENT_KEY_BYTES, (i + 1) * EVENT_KEY_BYTES).toString('hex')}-1`,
    );
    const sourceBatchId = newBatchId({ receiverId, bootId, seq: b.seq });
    return { events: unique, payload: encodeProcessedBatch({ sourceBatchId, ids, bodies: b.bodies.slice(0, unique) }) };
  });
  return { receiverId, bootId, batches };
}

function sealBatches(
  receiverId: string,
  count: number,
  bounds: BatchBounds,
): { bootId: string; sealed: SealedBatch[] } {
  const bootId = randomBytes(4).toString('hex');
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher({ ...bounds, maxDelayMs: settings.batchMaxDelayMs.default }, (b) => sealed.push(b));
  const runId = randomBytes(4).toString('hex');
  const now = new Date();
  const ctx = { receiverId, source: '192.0.2.10', transport: 'tcp' as const, hashSourceAddress: true };
  // Bounded: a batch holds at most batchMaxEvents events, so this many lines always seal `count` batches.
  const maxLines = (count + 1) * bounds.maxEvents;
  for (let seq = 0; sealed.length < count && seq < maxLines; seq++) {
    const frame = Buffer.from(benchLine(runId, 'q', 0, seq, now.toISOString()));
    const e = encodeSyslogFrame(frame, ctx, now);
    batcher.add(e.key, e.body);
  }
  batcher.flush();
  return { bootId, sealed: sealed.slice(0, count) };
}
