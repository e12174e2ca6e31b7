import type { Logger } from '../../shared/logger.js';

/**
 * A warning that a sender can trigger per connection (refused, bad frame, failed handshake): logged at once, then at
 * most once per interval with the number of occurrences it stands for, so a flood of bad connections cannot flood
 * the log too.
 */
export class ThrottledWarning {
  #lastMs = -Infinity;
  #suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.#lastMs < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    this.log.warn(this.#suppressed > 0 ? { ...fields, suppressedSinceLast: this.#suppressed } : fields, this.message);
    this.#lastMs = now;
    this.#suppressed = 0;
  }
}
