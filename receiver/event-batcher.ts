import type { ChunkRange } from '../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../shared/event-key.js';
import { RouteTableBuilder, routesOf, type EventRoutes, type RouteKey } from '../shared/event-route.js';

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
  /** Groups of events that came as one sender chunk (Forward), each wholly inside this batch. */
  readonly chunks: ChunkRange[];
  /** Each event's tag and severity (shared/event-route.ts). */
  readonly routes: EventRoutes;
  /** Per event, the original id of an event replicated from another fleet, else null; null when the batch has none. */
  readonly origins: (string | null)[] | null;
}

export interface KeyedEvent {
  readonly key: Uint8Array;
  readonly body: Uint8Array;
  /** Absent: the uploader reads the tag from the body when a sink routes by it. */
  readonly route?: RouteKey;
  /** Original fanin id of an event replicated from another fleet. */
  readonly origin?: string | undefined;
}

/**
 * Packs encoded events into batches until a count, size or age bound (docs/design.md §1: batches let the system reach the
 * broker's and Redis's own limits). Keys go into one preallocated buffer, so the worker reads them without
 * decoding any event.
 */
export class EventBatcher {
  private keys: Buffer;
  private bodies: Uint8Array[] = [];
  private bytes = 0;
  private chunks: ChunkRange[] = [];
  private readonly routes: RouteTableBuilder;
  /** Made at the first replicated event of a batch: batches without any (nearly all) carry nothing. */
  private origins: (string | null)[] | null = null;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Resolved when the open batch (sequence `nextSeq`) is sealed and handed on. */
  private sealWaiters: (() => void)[] = [];

  constructor(
    private readonly limits: BatchLimits,
    private readonly onSealed: (batch: SealedBatch) => void,
  ) {
    this.keys = Buffer.allocUnsafe(limits.maxEvents * EVENT_KEY_BYTES);
    this.routes = new RouteTableBuilder(limits.maxEvents);
  }

  /** Adds one event; returns the sequence number of the batch it went into (to wait for that batch's confirm). */
  add(key: Uint8Array, body: Uint8Array, route?: RouteKey, origin?: string): number {
    if (this.bodies.length > 0 && this.bytes + body.byteLength > this.limits.maxBytes) this.seal();
    this.keys.set(key, this.bodies.length * EVENT_KEY_BYTES);
    this.bytes += body.byteLength + EVENT_KEY_BYTES + this.routes.set(this.bodies.length, route);
    this.noteOrigin(origin);
    this.bodies.push(body);
    return this.afterAdd();
  }

  /** Seals a full batch or arms the age timer; returns the sequence number the events went into. */
  private afterAdd(): number {
    const seq = this.nextSeq;
    if (this.bodies.length >= this.limits.maxEvents || this.bytes >= this.limits.maxBytes) this.seal();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.seal(), this.limits.maxDelayMs);
      this.timer.unref(); // an open batch never keeps a process alive: drain flushes it explicitly
    }
    return seq;
  }

  /**
   * Adds a group of events that must travel in one batch (a Forward chunk: a resend is recognised by its id and
   * dropped whole, which only works if no part of it can be confirmed without the rest). The open batch is sealed
   * first when the group does not fit in it; a group larger than the bounds becomes one batch of its own (the
   * Forward input bounds a chunk's size and event count). Returns the batch's sequence number.
   */
  addGroup(events: readonly KeyedEvent[], chunkId: Uint8Array): number {
    let groupBytes = 0;
    for (const e of events) groupBytes += e.body.byteLength + EVENT_KEY_BYTES;
    const fits = (count: number, bytes: number) => count <= this.limits.maxEvents && bytes <= this.limits.maxBytes;
    if (this.bodies.length > 0 && !fits(this.bodies.length + events.length, this.bytes + groupBytes)) this.seal();
    if (!fits(events.length, groupBytes)) {
      const seq = this.nextSeq++;
      this.onSealed({
        seq,
        keys: Buffer.concat(events.map((e) => e.key)),
        bodies: events.map((e) => e.body),
        bytes: groupBytes,
        chunks: [{ id: chunkId, first: 0, end: events.length }],
        routes: routesOf(events.map((e) => e.route)),
        origins: events.some((e) => e.origin !== undefined) ? events.map((e) => e.origin ?? null) : null,
      });
      return seq;
    }
    const first = this.bodies.length;
    for (const e of events) {
      this.keys.set(e.key, this.bodies.length * EVENT_KEY_BYTES);
      groupBytes += this.routes.set(this.bodies.length, e.route);
      this.noteOrigin(e.origin);
      this.bodies.push(e.body);
    }
    this.bytes += groupBytes;
    this.chunks.push({ id: chunkId, first, end: this.bodies.length });
    return this.afterAdd();
  }

  /** Before the event is pushed: records its origin at its index (null for the ones before the first replica). */
  private noteOrigin(origin: string | undefined): void {
    if (origin === undefined && this.origins === null) return;
    if (this.origins === null) this.origins = new Array<string | null>(this.bodies.length).fill(null);
    this.origins.push(origin ?? null);
  }

  /** Resolves once batch `seq` is sealed and handed to the publisher (at once when it already is). */
  whenSealed(seq: number): Promise<void> {
    if (seq < this.nextSeq || (seq === this.nextSeq && this.bodies.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.sealWaiters.push(resolve));
  }

  /** Seals the open batch now (drain, or an HTTP request that wants its answer soon). */
  flush(): void {
    if (this.bodies.length > 0) this.seal();
  }

  get pendingEvents(): number {
    return this.bodies.length;
  }

  private seal(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.bodies.length === 0) return;
    const batch: SealedBatch = {
      seq: this.nextSeq++,
      keys: Buffer.from(this.keys.subarray(0, this.bodies.length * EVENT_KEY_BYTES)),
      bodies: this.bodies,
      bytes: this.bytes,
      chunks: this.chunks,
      routes: this.routes.take(this.bodies.length),
      origins: this.origins,
    };
    this.bodies = [];
    this.bytes = 0;
    this.chunks = [];
    this.origins = null;
    const waiters = this.sealWaiters;
    this.sealWaiters = [];
    this.onSealed(batch);
    for (const w of waiters) w();
  }
}
