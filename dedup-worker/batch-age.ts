import type { NewEventBatch } from '../shared/batch-codec.js';
import { decodeBody } from '../shared/batch-codec.js';

/**
 * When the receiver received the batch's first (oldest) event, in ms since the epoch by the receiver's clock, or null
 * when the body does not say. Decodes one body per batch; the worker otherwise never decodes events.
 */
export function batchReceivedAt(batch: NewEventBatch): number | null {
  const first = batch.bodies[0];
  if (!first) return null;
  try {
    const body = decodeBody(first) as { received_at?: unknown } | null;
    const t = body?.received_at;
    return typeof t === 'number' && Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/**
 * A copy decided more than the window after its receipt may have outlived an earlier copy's dedup key, so it may be
 * a duplicate counted as new (docs/design.md §3). A copy decided within the window cannot be: the other copies of the same
 * send were received at about the same time, so their keys (TTL = window, refreshed on each touch) are still there.
 * Clock skew between receiver and worker shifts this by the skew.
 */
export function isLate(receivedAtMs: number, decidedAtMs: number, windowSeconds: number): boolean {
  return decidedAtMs - receivedAtMs > windowSeconds * 1000;
}
