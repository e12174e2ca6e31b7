import type { ReasonClass } from './dead-letter-origin.js';

/** Which set-aside batches a replay takes; null means every one. */
export interface ReplaySelection {
  readonly sinks: ReadonlySet<string> | null;
  readonly reasons: ReadonlySet<ReasonClass> | null;
  /** Batches a dedup worker dead-lettered go back to their `<ns>.new` queue only when asked. */
  readonly includeNew: boolean;
}

export const selectsSink = (s: ReplaySelection, sink: string): boolean => s.sinks === null || s.sinks.has(sink);
export const selectsReason = (s: ReplaySelection, reason: ReasonClass): boolean =>
  s.reasons === null || s.reasons.has(reason);
