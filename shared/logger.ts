import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON lines on stdout. Never log per event at info: log per batch, per connection or per state change.
 *
 * Written synchronously, as Node writes process.stdout to a pipe: at fanin's log rate the cost is nothing, and a
 * line logged just before process.exit (the drain's last words, a fatal error) is never left in a buffer that the
 * exit drops.
 */
export function createLogger(component: string, id: string, level: string): Logger {
  return pino(
    { level, base: { component, id }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}
