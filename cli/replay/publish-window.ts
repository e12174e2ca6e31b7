/**
 * At most `size` publishes awaiting their confirm: what bounds a replay's memory (each holds one batch) while
 * confirms overlap. The first failure is kept and thrown by the next add or by drain, so a replay stops taking new
 * batches once one could not be published.
 */
export class PublishWindow {
  private readonly pending = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly size: number) {}

  /** Starts tracking `work`; resolves once there is room for another (throws the first failure so far). */
  async add(work: Promise<void>): Promise<void> {
    const tracked = work
      .then(
        () => undefined,
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    while (this.pending.size >= this.size) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  /** Waits for every publish; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for every publish, failed or not. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
