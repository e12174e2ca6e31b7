import type { BatchPublisher } from './batch-publisher.js';
import type { RouteKey } from '../shared/event-route.js';
import type { EventBatcher, KeyedEvent } from './event-batcher.js';

/** The part of the publisher the inputs depend on (a test can stand in for the broker). */
export type IntakePublisher = Pick<BatchPublisher, 'canAccept' | 'isPaused' | 'on' | 'whenConfirmed'>;

/** What every input hands its encoded events to: the batcher, with the publisher's pressure and confirms. */
export class Intake {
  constructor(
    private readonly batcher: EventBatcher,
    private readonly publisher: IntakePublisher,
  ) {}

  /**
   * Returns the batch sequence number the event went into. `route`: its tag and severity, for routing to sinks;
   * `origin`: the original fanin id of an event replicated from another fleet.
   */
  submit(key: Uint8Array, body: Uint8Array, route?: RouteKey, origin?: string): number {
    return this.batcher.add(key, body, route, origin);
  }

  /** Events that must travel in one batch, under a sender's chunk id (Forward). Returns the batch's sequence. */
  submitGroup(events: readonly KeyedEvent[], chunkId: Uint8Array): number {
    return this.batcher.addGroup(events, chunkId);
  }

  /** False when memory is at its bound: UDP drops (counted), HTTP answers 503. */
  get canAccept(): boolean {
    return this.publisher.canAccept;
  }

  get paused(): boolean {
    return this.publisher.isPaused;
  }

  onPressure(listener: (paused: boolean) => void): void {
    this.publisher.on('pressure', listener);
  }

  /**
   * Resolves once every listed batch is confirmed by the broker. The open batch is not sealed early: its age bound
   * (a few ms) adds little latency, and sealing per request would shrink batches under load.
   */
  async confirmed(seqs: Iterable<number>): Promise<void> {
    // The open batch is not held by the publisher yet: wait for it to be sealed, then for its confirm.
    await Promise.all(
      [...new Set(seqs)].map(async (s) => {
        await this.batcher.whenSealed(s);
        await this.publisher.whenConfirmed(s);
      }),
    );
  }
}
