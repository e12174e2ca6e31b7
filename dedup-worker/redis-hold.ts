import { EventEmitter } from 'node:events';
import { backoffDelayMs, type Backoff } from '../shared/backoff.js';

/** `worker.redisDownMode`: stop consuming while Redis is away, or publish batches undeduplicated. */
export type RedisDownMode = 'hold' | 'pass-through';

/** The timer functions the hold uses; a test passes a fake clock. */
export interface HoldTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RedisHoldOptions {
  readonly mode: RedisDownMode;
  /** A small write to Redis: resolves once Redis takes writes again. */
  readonly probe: () => Promise<unknown>;
  /** The client's connection state (ioredis `status === 'ready'`). */
  readonly isRedisReady: () => boolean;
  /**
   * Called after every `reviveAfterProbes` failed probes in a row: restarts the client's connection. The client
   * reconnects by itself as a rule, but a Sentinel client was seen to stop for good after its sentinels briefly
   * answered nothing usable during a failover; a hold must not depend on the client noticing that itself.
   */
  readonly revive?: () => void;
  readonly reviveAfterProbes?: number;
  readonly backoff?: Backoff;
  readonly timers?: HoldTimers;
  readonly random?: () => number;
}

export interface RedisHoldEvents {
  /** Stop consuming: Redis cannot decide batches (the reason is for the log). */
  hold: [reason: string];
  /** Redis may be back: try consuming again (the consumer asks `allowsConsuming`). */
  resume: [];
}

/** Failed probes in a row before the client's connection is restarted: long enough for a failover to finish first. */
const REVIVE_AFTER_PROBES = 8;

/** Probe delays: a probe is a write on every partition, so it starts slower than a reconnect. */
export const REDIS_PROBE_BACKOFF: Backoff = { initialDelayMs: 500, maxDelayMs: 5000 };

const realTimers: HoldTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Whether the worker may take batches, as far as Redis is concerned. In `hold` mode a lost connection or a failed
 * script holds the worker; Redis can refuse writes without dropping the connection (out of memory under
 * noeviction), so no 'ready' would ever end such a hold: it probes with a small write, backing off, and resumes once
 * one succeeds or the client reports 'ready'. In `pass-through` mode it never holds: the worker publishes batches
 * undeduplicated instead.
 */
export class RedisHold extends EventEmitter<RedisHoldEvents> {
  private state: 'open' | 'holding' | 'stopped' = 'open';
  private attempt = 0;
  private timer: unknown = null;
  private probing = false;
  private readonly timers: HoldTimers;

  constructor(private readonly o: RedisHoldOptions) {
    super();
    this.timers = o.timers ?? realTimers;
  }

  get holding(): boolean {
    return this.state === 'holding';
  }

  /** True when a batch could be decided now (pass-through: always, Redis or not). */
  get allowsConsuming(): boolean {
    if (this.o.mode === 'pass-through') return this.state !== 'stopped';
    return this.state === 'open' && this.o.isRedisReady();
  }

  /** Redis went away or failed a script: hold (in `hold` mode) and start probing. */
  redisLost(reason: string): void {
    if (this.o.mode !== 'hold' || this.state !== 'open') return;
    this.state = 'holding';
    this.attempt = 0;
    this.emit('hold', reason);
    this.scheduleProbe();
  }

  /** The client (re)connected: end a hold at once and let the consumer try again. */
  redisReady(): void {
    if (this.state === 'stopped') return;
    if (this.state === 'holding') this.endHold();
    else this.emit('resume');
  }

  /** A drain: no more probes, no more events. */
  stop(): void {
    this.state = 'stopped';
    this.cancelProbe();
  }

  private scheduleProbe(): void {
    if (this.state !== 'holding' || this.timer !== null || this.probing) return;
    this.attempt++;
    const delayMs = backoffDelayMs(this.attempt, this.o.backoff ?? REDIS_PROBE_BACKOFF, this.o.random);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      void this.probeOnce();
    }, delayMs);
  }

  private async probeOnce(): Promise<void> {
    if (this.state !== 'holding') return;
    this.probing = true;
    let ok: boolean;
    try {
      await this.o.probe();
      ok = true;
    } catch {
      ok = false;
    } finally {
      this.probing = false;
    }
    if (this.state !== 'holding') return; // ended by 'ready' or a drain while the probe ran
    if (ok) {
      this.endHold();
      return;
    }
    const every = this.o.reviveAfterProbes ?? REVIVE_AFTER_PROBES;
    if (this.o.revive && this.attempt % every === 0) this.o.revive();
    this.scheduleProbe();
  }

  private endHold(): void {
    this.cancelProbe();
    this.state = 'open';
    this.attempt = 0;
    this.emit('resume');
  }

  private cancelProbe(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
