import { note } from './util.js';

/**
 * Cleanup steps registered as resources come up, run once in reverse order (on success, error or a signal).
 */
export class Teardown {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];
  private done: Promise<void> | null = null;

  add(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.fn();
        } catch (err) {
          note(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.done;
  }
}
