import { EVENT_KEY_BYTES } from '../shared/event-key.js';

export interface BatchLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly maxDelayMs: number;
}

export interface SealedBatch {
  readonly seq: number;
  readonly keys: Buffer;
  readonly bodies: Uint8Array[];
  readonly bytes: number;
}

/**
 * Packs encoded events into batches until a count, size or age bound (DESIGN §1: batches let the system reach the
 * broker's and Redis's own limits). Keys go into one preallocated buffer, so the worker reads them without
 * decoding any event.
 */
export class EventBatcher {
  private keys: Buffer;
  private bodies: Uint8Array[] = [];
  private bytes = 0;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly limits: BatchLimits, private readonly onSealed: (batch: SealedBatch) => void) {
    this.keys = Buffer.allocUnsafe(limits.maxEvents * EVENT_KEY_BYTES);
  }

  /** Adds one event; returns the sequence number of the batch it went into (to wait for that batch's confirm). */
  add(key: Uint8Array, body: Uint8Array): number {
    if (this.bodies.length > 0 && this.bytes + body.byteLength > this.limits.maxBytes) this.seal();
    const seq = this.nextSeq;
    this.keys.set(key, this.bodies.length * EVENT_KEY_BYTES);
    this.bodies.push(body);
    this.bytes += body.byteLength + EVENT_KEY_BYTES;
    if (this.bodies.length >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes) this.seal();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.seal(), this.limits.maxDelayMs);
      this.timer.unref(); // an open batch never keeps a process alive: drain flushes it explicitly
    }
    return seq;
  }

  /** Seals the open batch now (drain, or an HTTP request that wants its answer soon). */
  flush(): void {
    if (this.bodies.length > 0) this.seal();
  }

  get pendingEvents(): number { return this.bodies.length; }

  private seal(): void {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    if (this.bodies.length === 0) return;
    const batch: SealedBatch = {
      seq: this.nextSeq++,
      keys: Buffer.from(this.keys.subarray(0, this.bodies.length * EVENT_KEY_BYTES)),
      bodies: this.bodies,
      bytes: this.bytes,
    };
    this.bodies = [];
    this.bytes = 0;
    this.onSealed(batch);
  }
}
