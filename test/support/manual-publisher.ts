import { EventEmitter } from 'node:events';
import type { IntakePublisher } from '../../receiver/intake.js';

/** Stands in for the broker behind an Intake: the test decides when batches are confirmed and when pressure is on. */
export class ManualPublisher extends EventEmitter<{ pressure: [boolean] }> {
  canAccept = true;
  isPaused = false;
  autoConfirm = true;
  private readonly pending = new Map<number, () => void>();

  whenConfirmed(seq: number): Promise<void> {
    if (this.autoConfirm) return Promise.resolve();
    return new Promise((resolve) => this.pending.set(seq, resolve));
  }

  confirmAll(): void {
    for (const r of this.pending.values()) r();
    this.pending.clear();
  }
  get waiting(): number {
    return this.pending.size;
  }
  setPressure(paused: boolean): void {
    this.isPaused = paused;
    this.emit('pressure', paused);
  }
  get asIntakePublisher(): IntakePublisher {
    return this as unknown as IntakePublisher;
  }
}
