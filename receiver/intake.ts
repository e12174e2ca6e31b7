import type { BatchPublisher } from './batch-publisher.js';
import type { EventBatcher } from './event-batcher.js';

/** What every input hands its encoded events to: the batcher, with the publisher's pressure and confirms. */
export class Intake {
  constructor(private readonly batcher: EventBatcher, private readonly publisher: BatchPublisher) {}

  /** Returns the batch sequence number the event went into. */
  submit(key: Uint8Array, body: Uint8Array): number {
    return this.batcher.add(key, body);
  }

  /** False when memory is at its bound: UDP drops (counted), HTTP answers 503. */
  get canAccept(): boolean { return this.publisher.canAccept; }

  get paused(): boolean { return this.publisher.isPaused; }

  onPressure(listener: (paused: boolean) => void): void { this.publisher.on('pressure', listener); }

  /**
   * Resolves once every listed batch is confirmed by the broker. The open batch is not sealed early: its age bound
   * (a few ms) adds little latency, and sealing per request would shrink batches under load.
   */
  async confirmed(seqs: Iterable<number>): Promise<void> {
    await Promise.all([...new Set(seqs)].map((s) => this.publisher.whenConfirmed(s)));
  }
}
