/**
 * What the dedup window costs Redis once it is FULL: keys expiring as fast as they are added, which is where a
 * long-running fleet lives. A private redis-server (no persistence, its own port and directory, killed at the end)
 * is driven by the real DedupStore with receiver batches at fan-out 2 (each batch's events once as receiver a's
 * batch and once as receiver b's, then markPublished, as the worker does) at a FIXED rate of unique events (open
 * loop, with a bound on batches in flight), with a short window, so the keys expire for real: PX TTLs and Redis's
 * own active expiry, whose cycle is part of the CPU measured.
 *
 * Phases, from the first batch offered: the first fill is the first window (keys only added); steady runs from two
 * windows on (a batch record lives two windows, so only then is every kind of key expiring as fast as it is added)
 * for `steadySeconds`. INFO is sampled every `sampleMs` throughout. Per phase, Redis CPU (INFO cpu, user + sys) ÷
 * copies decided. Bytes per unique event at steady: used_memory above the empty server's ÷ unique events decided in
 * the window before the sample, median over the steady samples. That counts the keys that have expired but that
 * Redis's active expiry has not reclaimed yet, as a full window holds them; a filling window has none, which is why
 * the steady figure is the one to size Redis by.
 *
 * The bytes per unique event do not depend on the window's length, so a short window measures a long one's in a
 * fraction of the time: a key holds the same string whatever its TTL (a longer window only holds more of them), and
 * the expire cycle stops sampling once few of its sample have expired, so what it leaves behind is a share of the
 * keys, not so many seconds of them. Only the rate × window product (keys held) can move it a little, through the
 * size of Redis's hash table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { PrivateRedis } from '../../chaos/private-redis.js';
import { DedupStore } from '../../dedup-worker/dedup-store.js';
import type { PartitionDecision } from '../../dedup-worker/batch-decision.js';
import { decodeNewEventBatch, type NewEventBatch } from '../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import { faninBatchPool } from './fanin-batches.js';
import { infoCommandCalls, infoCpuSeconds, infoDb0Keys, infoField } from './redis-info.js';
import { windowFigures, type WindowFigures, type WindowSample } from './window-figures.js';

/** What the run drives: the product's DedupStore, or a store under evaluation with the same two steps. */
export interface WindowStore {
  decide(batch: NewEventBatch): Promise<PartitionDecision[]>;
  markPublished(batch: NewEventBatch, decisions: readonly PartitionDecision[]): Promise<void>;
}

export interface RedisWindowOptions {
  readonly windowSeconds: number;
  /** Unique events offered per second (copies: twice that). */
  readonly uniquePerSecond: number;
  /** Length of the steady phase; the window's length unless set, at least half of it. */
  readonly steadySeconds?: number;
  /** The private redis-server's port; one the OS says is free unless set. */
  readonly port?: number;
  /** Client connections, each with its own DedupStore (like that many workers). */
  readonly connections?: number;
  /** Batches decided at once over all connections; past it the offer falls behind and catches up. */
  readonly maxInflightBatches?: number;
  readonly sampleMs?: number;
  /** More redis-server arguments (`--hz 50`, say), to see what a setting of the server changes. */
  readonly redisArgs?: readonly string[];
  /**
   * A private redis-server already running (a comparison of stores on one server): it is FLUSHALLed first, and
   * neither started nor stopped here. `port` and `redisArgs` are then ignored.
   */
  readonly url?: string;
  /** One store per connection; the product's DedupStore unless set. */
  readonly makeStore?: (client: Redis, windowMs: number) => WindowStore;
}

export interface RedisWindowResult extends WindowFigures {
  readonly windowSeconds: number;
  readonly offeredUniquePerSecond: number;
  /** Steady unique events/s decided within 5% of the offered rate: else the figures are of a smaller window. */
  readonly sustained: boolean;
  /** The furthest the offer fell behind its schedule (the in-flight bound reached). */
  readonly maxLagMs: number;
  readonly batchEvents: number;
  readonly connections: number;
  readonly redisArgs: readonly string[];
  readonly emptyUsedMemory: number;
  /** About one sample a second over the run: seconds since the first batch, memory above the empty server's, keys. */
  readonly timeline: readonly { s: number; usedMiB: number; keys: number; expiredKeys: number }[];
}

export const REDIS_WINDOW_DEFAULTS = { windowSeconds: 20, uniquePerSecond: 20_000 } as const;

// Bounds on what a setting can ask for: the run's length, and the keys (memory) the window holds.
const MAX_RUN_SECONDS = 1800;
const MAX_KEYS_IN_WINDOW = 5_000_000;
// Distinct real batches whose shapes (events per batch) and bodies the run cycles through, each time with new keys.
const TEMPLATE_BATCHES = 8;

export async function measureRedisWindow(o: RedisWindowOptions): Promise<RedisWindowResult> {
  const windowMs = Math.round(o.windowSeconds * 1000);
  const steadyMs = Math.max(windowMs / 2, Math.round((o.steadySeconds ?? o.windowSeconds) * 1000));
  const steadyStartMs = 2 * windowMs;
  const steadyEndMs = steadyStartMs + steadyMs;
  const sampleMs = o.sampleMs ?? 250;
  const connections = Math.max(1, o.connections ?? 2);
  const maxInflight = Math.max(2, o.maxInflightBatches ?? 32);
  if (!(windowMs > 0) || !(o.uniquePerSecond > 0)) throw new Error('redis window: window and rate must be positive');
  if (steadyEndMs > MAX_RUN_SECONDS * 1000)
    throw new Error(`redis window: ${steadyEndMs / 1000} s asked, at most ${MAX_RUN_SECONDS}`);
  if (o.uniquePerSecond * o.windowSeconds > MAX_KEYS_IN_WINDOW)
    throw new Error(`redis window: rate × window holds more than ${MAX_KEYS_IN_WINDOW} keys`);

  // The script reads only the keys and the batch id, so the real batches' bodies and event counts are kept and each
  // pair gets new keys: what new events give it.
  const pool = faninBatchPool('a', TEMPLATE_BATCHES);
  const templates = pool.batches.map((b) => decodeNewEventBatch(b.payload));
  const batchEvents = Math.round(templates.reduce((n, t) => n + t.bodies.length, 0) / templates.length);

  const dir = await mkdtemp(join(os.tmpdir(), 'fanin-redis-window-'));
  const server = o.url === undefined ? await PrivateRedis.create(dir, o.port, o.redisArgs ?? []) : null;
  const clients: Redis[] = [];
  try {
    await server?.start();
    const url = o.url ?? server!.url;
    for (let i = 0; i <= connections; i++)
      clients.push(new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 1 }));
    const info = clients[0]!;
    const makeStore =
      o.makeStore ?? ((c: Redis) => new DedupStore(c, { namespace: 'bench-window', partitions: 1, windowMs }));
    const stores = clients.slice(1).map((c) => makeStore(c, windowMs));
    await Promise.all(clients.map((c) => c.ping()));
    if (o.url !== undefined) {
      await info.flushall();
      await info.config('RESETSTAT');
    }
    const emptyUsedMemory = infoField(await info.info('memory'), 'used_memory');

    let copies = 0;
    let unique = 0;
    let inflight = 0;
    let offered = 0;
    let pairs = 0;
    let nextStore = 0;
    let maxLagEvents = 0;
    // A holder, not a local: it is set in callbacks, which the compiler's narrowing of a local does not see.
    const failed: { error: Error | null } = { error: null };
    let offering = true;
    const bootIds = { a: randomBytes(4).toString('hex'), b: randomBytes(4).toString('hex') };
    const started = performance.now();
    const now = () => performance.now() - started;

    const decide = async (batch: NewEventBatch) => {
      const store = stores[nextStore++ % stores.length]!;
      inflight++;
      try {
        const decisions = await store.decide(batch);
        await store.markPublished(batch, decisions);
        copies += batch.bodies.length;
        for (const d of decisions) for (const n of d.occurrences) if (n > 0) unique++;
      } catch (err) {
        failed.error ??= err instanceof Error ? err : new Error(String(err));
      } finally {
        inflight--;
        offer();
      }
    };
    // Open loop: batches are offered on the clock, not when the previous ones return, so both phases see the same
    // rate; the in-flight bound only keeps a stalled Redis from collecting an unbounded queue.
    const offer = () => {
      const t = now();
      if (failed.error !== null || !offering) return;
      const due = (o.uniquePerSecond * t) / 1000;
      while (offered < due && inflight + 2 <= maxInflight) {
        const template = templates[pairs % templates.length]!;
        const keys = randomBytes(template.bodies.length * EVENT_KEY_BYTES);
        const seq = pairs++;
        offered += template.bodies.length;
        for (const receiverId of ['a', 'b'] as const)
          void decide({ receiverId, bootId: bootIds[receiverId], seq, keys, bodies: template.bodies });
      }
      maxLagEvents = Math.max(maxLagEvents, due - offered);
    };

    const samples: WindowSample[] = [];
    const sample = async () => {
      const text = await info.call('INFO', 'memory', 'cpu', 'stats', 'keyspace', 'commandstats');
      const atMs = now();
      const s = String(text);
      const calls = infoCommandCalls(s);
      samples.push({
        atMs: samples.length === 0 ? 0 : atMs,
        usedMemory: infoField(s, 'used_memory'),
        cpuSeconds: infoCpuSeconds(s),
        copies,
        unique,
        keys: infoDb0Keys(s),
        expiredKeys: infoField(s, 'expired_keys'),
        expireCycleCpuMs: infoField(s, 'expire_cycle_cpu_milliseconds'),
        expireTimeCapReached: infoField(s, 'expired_time_cap_reached_count'),
        dataCommandCalls: calls.data,
        scriptCalls: calls.scripts,
      });
    };
    await sample(); // at 0: nothing offered yet
    const ticker = setInterval(offer, 5);
    offer();
    try {
      // Until the first sample at or after the end of the steady phase, which closes it.
      for (let k = 1; samples[samples.length - 1]!.atMs < steadyEndMs && failed.error === null; k++) {
        const wait = k * sampleMs - now();
        if (wait > 0) await sleep(wait);
        await sample();
      }
    } finally {
      offering = false;
      clearInterval(ticker);
    }
    const drainDeadline = Date.now() + 30_000;
    while (inflight > 0 && Date.now() < drainDeadline) await sleep(10);
    if (failed.error !== null) throw failed.error;

    const figures = windowFigures(samples, emptyUsedMemory, { windowMs, steadyStartMs, steadyEndMs });
    return {
      windowSeconds: o.windowSeconds,
      offeredUniquePerSecond: o.uniquePerSecond,
      sustained: figures.steady.uniquePerSecond >= 0.95 * o.uniquePerSecond,
      maxLagMs: Math.round((maxLagEvents * 1000) / o.uniquePerSecond),
      batchEvents,
      connections,
      redisArgs: o.redisArgs ?? [],
      emptyUsedMemory,
      ...figures,
      timeline: samples
        .filter((_, i) => i % Math.max(1, Math.round(1000 / sampleMs)) === 0)
        .slice(0, 600)
        .map((x) => ({
          s: Math.round(x.atMs / 100) / 10,
          usedMiB: Math.round((x.usedMemory - emptyUsedMemory) / 104_857.6) / 10,
          keys: x.keys,
          expiredKeys: x.expiredKeys,
        })),
    };
  } finally {
    for (const c of clients) c.disconnect();
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one line a bench prints for a window run. */
export function describeRedisWindow(r: RedisWindowResult): string {
  const line =
    `Redis with the window full: ${Math.round(r.steady.bytesPerUniqueEvent)} bytes per unique event; Redis CPU per copy: ` +
    `steady ${r.steady.redisCpuMicrosPerCopy} µs, first fill ${r.firstFill.redisCpuMicrosPerCopy} µs ` +
    `(rate ${r.offeredUniquePerSecond} unique/s, window ${r.windowSeconds} s)`;
  return r.sustained ? line : `${line}; NOT SUSTAINED: steady decided ${r.steady.uniquePerSecond} unique/s`;
}
