import { decodeBody, encodeBody, keyAt, type NewEventBatch } from '../shared/batch-codec.js';
import { eventId } from '../shared/event-key.js';
import type { EventRoutes } from '../shared/event-route.js';

/**
 * Opt-in `worker.redisDownMode=pass-through`: while Redis is unreachable, every copy is published undeduplicated,
 * flagged `dedup: "skipped"` so sinks and people can tell. Ids are those of occurrence 1 (`<key>-1`), the id a first
 * copy gets when Redis is there (a replicated event's original id), so idempotent sinks (PostgreSQL, _bulk create) still absorb the copies; the price is
 * that a real repeat inside the outage collapses into its first occurrence there. Bodies are re-encoded only on this
 * degraded path; the normal path never decodes them.
 */
export function passThroughBatch(batch: NewEventBatch): { ids: string[]; bodies: Uint8Array[]; routes?: EventRoutes } {
  const ids: string[] = [];
  const bodies: Uint8Array[] = [];
  batch.bodies.forEach((body, i) => {
    ids.push(batch.origins?.[i] ?? eventId(keyAt(batch, i), 1));
    let envelope: unknown;
    try {
      envelope = decodeBody(body);
    } catch {
      envelope = null;
    }
    // A body that does not decode is passed on untouched: the sink's reject path records it with the reason.
    bodies.push(
      typeof envelope === 'object' && envelope !== null ? encodeBody({ ...envelope, dedup: 'skipped' }) : body,
    );
  });
  return { ids, bodies, routes: batch.routes };
}
