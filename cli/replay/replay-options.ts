import { UsageError } from '../usage-error.js';
import { REASON_CLASSES, type ReasonClass } from './dead-letter-origin.js';

/** `--sink a,b`: every name must be one of the configuration's sinks (a batch goes back to a queue a sink drains). */
export function sinkFilter(raw: string | undefined, configured: readonly string[]): ReadonlySet<string> | null {
  if (raw === undefined) return null;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--sink: give a sink name (or several, comma-separated)', 'replay');
  for (const name of names) {
    if (!configured.includes(name))
      throw new UsageError(
        `--sink: unknown sink "${name}" (this configuration's sinks: ${configured.join(', ')})`,
        'replay',
      );
  }
  return new Set(names);
}

/** `--reason refused,secondary`: reason classes (dead-letter-origin.ts), so a filter is never a guess at free text. */
export function reasonFilter(raw: string | undefined): ReadonlySet<ReasonClass> | null {
  if (raw === undefined) return null;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError(`--reason: give one of ${REASON_CLASSES.join(', ')}`, 'replay');
  for (const name of names) {
    if (!(REASON_CLASSES as readonly string[]).includes(name))
      throw new UsageError(`--reason: unknown reason "${name}" (one of ${REASON_CLASSES.join(', ')})`, 'replay');
  }
  return new Set(names as ReasonClass[]);
}
