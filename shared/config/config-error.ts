import type { Disposition } from '../errors/disposition.js';

/**
 * A setting that failed validation at start-up; the message names the key and the variable so the operator can fix
 * it. Disposition fatal: the process exits (status 78) before it takes any event.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: string = 'CONFIG_INVALID';
  readonly disposition: Disposition = 'fatal';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}
