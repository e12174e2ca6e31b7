/**
 * What happens after an error: the same five words in every error catalogue, so an operator reading a log line or
 * docs/errors.md knows whether anything was lost and who acts next.
 *
 *   continue:    the offending item is left out (counted, or answered with a refusal) and the rest goes on.
 *   close:       the connection is closed without acknowledging what was not yet acknowledged; the sender resends.
 *   dead-letter: the batch or event is set aside with its reason (`<ns>.dead`, a reject file or table): retrying
 *                cannot fix it, and an operator can replay it after fixing the cause.
 *   retry:       the same work is done again later (backoff, another server); nothing is acknowledged meanwhile.
 *   fatal:       the process does not start (or stops) with the message; an operator fixes the configuration.
 */
export type Disposition = 'continue' | 'close' | 'dead-letter' | 'retry' | 'fatal';

export const DISPOSITIONS: readonly Disposition[] = ['continue', 'close', 'dead-letter', 'retry', 'fatal'];

/** One entry of an error catalogue: its disposition and, where a metric counts it, the `reason` label. */
export interface ErrorCatalogEntry {
  readonly disposition: Disposition;
  readonly reason?: string;
}

/** Checks a catalogue's shape at compile time and keeps its literal types (codes, reasons, dispositions). */
export function errorCatalog<const C extends Record<string, ErrorCatalogEntry>>(catalog: C): C {
  return catalog;
}

/** An error that carries its stable code and what happens next. */
export interface ErrorWithDisposition {
  readonly code: string;
  readonly disposition: Disposition;
}
