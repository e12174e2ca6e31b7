/**
 * The one retry delay of every fanin process: broker reconnects, channel reattaches, Redis reconnects and probes,
 * sink write retries. Exponential with "full jitter": the delay is drawn uniformly between 0 and a ceiling that
 * doubles per attempt up to a cap. Processes that lost the same broker node or Redis at the same instant therefore
 * come back spread over the whole interval instead of in step, and the mean wait is half the ceiling.
 */
export interface Backoff {
  /** Ceiling of the first attempt's delay. */
  readonly initialDelayMs: number;
  /** Ceiling that the doubling stops at: the longest any single wait can be. */
  readonly maxDelayMs: number;
}

/** Past this many doublings the ceiling is the cap for any sane setting; it keeps 2 ** n finite. */
const MAX_DOUBLINGS = 30;

/** The ceiling for attempt `attempt` (1 = the first retry): initial × 2^(attempt − 1), capped. */
export function backoffCeilingMs(attempt: number, b: Backoff): number {
  const doublings = Math.min(MAX_DOUBLINGS, Math.max(0, Math.floor(attempt) - 1));
  return Math.min(b.maxDelayMs, b.initialDelayMs * 2 ** doublings);
}

/** Delay before retry `attempt`: a whole number of milliseconds drawn uniformly from [0, ceiling]. */
export function backoffDelayMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(attempt, b);
  return Math.min(ceiling, Math.floor(random() * (ceiling + 1)));
}
