import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON lines on stdout. Never log per event at info: log per batch, per connection or per state change. */
export function createLogger(component: string, id: string, level: string): Logger {
  return pino({ level, base: { component, id }, timestamp: pino.stdTimeFunctions.isoTime });
}
