import { createRequire } from 'node:module';

/** The parts of npm's `fluent-logger` (CommonJS, untyped) the Forward tests drive. */
export interface LegacySender {
  emit(label: string, data: Record<string, unknown>, timestamp: unknown, callback: (err?: Error) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  end(): void;
}

const require = createRequire(import.meta.url);
export const legacy = require('fluent-logger') as {
  createFluentSender(tag: string, options: Record<string, unknown>): LegacySender;
  EventTime: new (epoch: number, nano: number) => unknown;
};
