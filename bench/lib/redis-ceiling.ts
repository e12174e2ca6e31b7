/**
 * Redis's own ceiling for fanin's dedup script: the worker's Redis steps (DedupStore.decide, then markPublished) in
 * a closed loop straight from memory, with no AMQP, no decoding and no sink, on the same Redis the pipeline uses.
 * Traffic has the pipeline's shape: every batch of keys is decided twice, once as receiver a's batch and once as
 * receiver b's (fan-out 2), so half the copies are unique. `connections` clients (like that many workers) each keep
 * `concurrency` batches in flight (like prefetch).
 *
 * Also the memory the window costs: Redis's used_memory before and after the loop, divided by the unique events
 * the loop left in it (their keys live for the window, so nothing expires during the measurement).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { NewEventBatch } from '../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import { DedupStore } from '../../dedup-worker/dedup-store.js';
import { infoCpuSeconds, infoField } from './redis-info.js';

export interface RedisCeilingOptions {
  readonly redisUrl: string;
  /** Key prefix; the caller deletes `<namespace>:*` afterwards. */
  readonly namespace: string;
  readonly seconds: number;
  readonly batchEvents: number;
  readonly connections: number;
  readonly concurrency: number;
  readonly windowSeconds: number;
}

export interface RedisCeilingResult {
  readonly copiesPerSecond: number;
  readonly uniquePerSecond: number;
  readonly batchesPerSecond: number;
  /** Redis's own CPU (user + sys, from INFO cpu) as % of one core over the loop. */
  readonly redisCpuPercent: number;
  /** Redis CPU microseconds per copy decided. */
  readonly redisCpuMicrosPerCopy: number;
  readonly uniqueEventsInWindow: number;
  readonly bytesPerUniqueEvent: number;
}

export async function measureRedisCeiling(o: RedisCeilingOptions): Promise<RedisCeilingResult> {
  const clients = Array.from(
    { length: o.connections },
    () => new Redis(o.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 }),
  );
  const info = clients[0]!;
  try {
    const stores = clients.map(
      (c) => new DedupStore(c, { namespace: o.namespace, partitions: 1, windowMs: o.windowSeconds * 1000 }),
    );
    const body = new Uint8Array(0); // the script never sees bodies
    const bodies = Array.from({ length: o.batchEvents }, () => body);
    const bootId = randomBytes(4).toString('hex');
    let seq = 0;
    let pendingB: Buffer | null = null;
    // Alternate: a fresh set of keys from receiver a, then the same keys from receiver b.
    const nextBatch = (): NewEventBatch => {
      let keys: Buffer;
      let receiverId: string;
      if (pendingB) {
        keys = pendingB;
        pendingB = null;
        receiverId = 'b';
      } else {
        keys = randomBytes(o.batchEvents * EVENT_KEY_BYTES);
        pendingB = keys;
        receiverId = 'a';
      }
      return { receiverId, bootId, seq: seq++, keys, bodies };
    };

    const memoryBefore = await usedMemory(info);
    const cpuBefore = await redisCpuSeconds(info);
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(Math.round(o.seconds * 1e9));
    let copies = 0;
    let unique = 0;
    let batches = 0;
    const lane = async (store: DedupStore) => {
      while (process.hrtime.bigint() < deadline) {
        const batch = nextBatch();
        const decisions = await store.decide(batch);
        await store.markPublished(batch, decisions);
        batches++;
        copies += batch.bodies.length;
        for (const d of decisions) for (const n of d.occurrences) if (n > 0) unique++;
      }
    };
    await Promise.all(stores.flatMap((s) => Array.from({ length: o.concurrency }, () => lane(s))));
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = (await redisCpuSeconds(info)) - cpuBefore;
    const memoryAfter = await usedMemory(info);
    return {
      copiesPerSecond: Math.round(copies / elapsed),
      uniquePerSecond: Math.round(unique / elapsed),
      batchesPerSecond: Math.round(batches / elapsed),
      redisCpuPercent: Math.round((1000 * cpu) / elapsed) / 10,
      redisCpuMicrosPerCopy: Math.round((cpu * 1e7) / Math.max(1, copies)) / 10,
      uniqueEventsInWindow: unique,
      bytesPerUniqueEvent: Math.round((memoryAfter - memoryBefore) / Math.max(1, unique)),
    };
  } finally {
    for (const c of clients) c.disconnect();
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  return infoField(await redis.info('memory'), 'used_memory');
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  return infoCpuSeconds(await redis.info('cpu'));
}
