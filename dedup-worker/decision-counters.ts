import type { NewEventBatch } from '../shared/batch-codec.js';
import { batchReceivedAt, isLate } from './batch-age.js';
import type { UniqueSelection } from './batch-decision.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * Counts a batch's copies per receiver (unique, repeat, duplicate, chunk resend), its age and its late copies, once:
 * when the batch is first decided. A redelivered batch reuses its stored decisions and was counted then.
 */
export function countDecisions(
  metrics: WorkerMetrics,
  batch: NewEventBatch,
  selection: UniqueSelection,
  dedupWindowSeconds: number,
  now = Date.now(),
): void {
  if (selection.reused) return;
  let repeats = 0;
  for (const n of selection.occurrences) if (n > 1) repeats++;
  const receiver = batch.receiverId;
  metrics.knowReceiver(receiver);
  const receivedAt = batchReceivedAt(batch);
  if (receivedAt !== null) {
    metrics.batchAge.observe(Math.max(0, (now - receivedAt) / 1000));
    if (selection.indices.length > 0 && isLate(receivedAt, now, dedupWindowSeconds))
      metrics.lateCopies.inc({ receiver }, selection.indices.length);
  }
  if (selection.indices.length - repeats > 0)
    metrics.copies.inc({ receiver, result: 'unique' }, selection.indices.length - repeats);
  if (repeats > 0) metrics.copies.inc({ receiver, result: 'repeat' }, repeats);
  if (selection.duplicates > 0) metrics.copies.inc({ receiver, result: 'duplicate' }, selection.duplicates);
  if (selection.chunkResends > 0) metrics.copies.inc({ receiver, result: 'chunk_resend' }, selection.chunkResends);
}
