import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { PrivateRedis } from '../../../chaos/private-redis.js';
import { DedupStore } from '../../../dedup-worker/dedup-store.js';
import type { NewEventBatch } from '../../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../../shared/event-key.js';
import { TableDedupStore, type TableLayout } from '../../../bench/table-dedup/table-store.js';

/**
 * The table prototype (bench/table-dedup/) decides every batch as the product's DedupStore does: the same batches,
 * in the same order, get the same occurrences from both, on one private redis-server (two namespaces). The batches
 * mix fan-out copies, real repeats (within a batch and across batches), a third receiver, counts past what a slot
 * holds, more receivers than the registry has tags, and a table small enough that buckets fill, so every fallback
 * path runs. BENCH_TABLE_PORT puts the server on a port of your choosing.
 */

// A small deterministic generator (mulberry32): the same batches on every run.
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function keyPool(count: number, random: () => number): Buffer[] {
  return Array.from({ length: count }, () => {
    const k = Buffer.alloc(EVENT_KEY_BYTES);
    for (let i = 0; i < k.length; i++) k[i] = Math.floor(random() * 256);
    return k;
  });
}

function batchOf(receiverId: string, seq: number, keys: readonly Buffer[]): NewEventBatch {
  return { receiverId, bootId: 'boot', seq, keys: Buffer.concat(keys), bodies: keys.map(() => new Uint8Array(0)) };
}

/** Fan-out copies at receivers a and b, sometimes c, sometimes a real repeat, sometimes one of 16 more receivers. */
function scenario(seed: number, events: number, batches: number): NewEventBatch[] {
  const random = generator(seed);
  const pool = keyPool(events, random);
  const out: NewEventBatch[] = [];
  const pending: { receiver: string; key: Buffer }[] = [];
  let seq = 0;
  for (let b = 0; b < batches; b++) {
    const keys: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const key = pool[Math.floor(random() * pool.length)]!;
      keys.push(key);
      pending.push({ receiver: 'b', key });
      if (random() < 0.1) pending.push({ receiver: 'c', key });
      if (random() < 0.05) pending.push({ receiver: `x${Math.floor(random() * 16)}`, key });
      if (random() < 0.05) keys.push(key); // a real repeat inside the batch
    }
    out.push(batchOf('a', seq++, keys));
    // The other receivers' copies arrive a few batches later, grouped by receiver.
    if (b % 3 === 2) {
      const byReceiver = new Map<string, Buffer[]>();
      for (const p of pending.splice(0)) byReceiver.set(p.receiver, [...(byReceiver.get(p.receiver) ?? []), p.key]);
      for (const [receiver, ks] of byReceiver) out.push(batchOf(receiver, seq++, ks));
    }
  }
  // One event counted past what a slot holds: 20 copies from a, then 20 from b.
  const hot = keyPool(1, random)[0]!;
  out.push(
    batchOf(
      'a',
      seq++,
      Array.from({ length: 20 }, () => hot),
    ),
  );
  out.push(
    batchOf(
      'b',
      seq,
      Array.from({ length: 20 }, () => hot),
    ),
  );
  return out;
}

describe('bench: the table dedup prototype decides as the per-event store', () => {
  let dir: string;
  let server: PrivateRedis;
  let client: Redis;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'fanin-table-dedup-'));
    const port = process.env.BENCH_TABLE_PORT ? Number(process.env.BENCH_TABLE_PORT) : undefined;
    server = await PrivateRedis.create(dir, port);
    await server.start();
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    client.disconnect();
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: { name: string; layout: TableLayout; slots: number; buckets: number; events: number }[] = [
    { name: 'a roomy string table', layout: 'string', slots: 8, buckets: 4096, events: 2000 },
    { name: 'a roomy hash table', layout: 'hash', slots: 15, buckets: 4096, events: 2000 },
    { name: 'string table of 8 buckets (most events fall back)', layout: 'string', slots: 8, buckets: 8, events: 2000 },
    { name: 'hash table of 8 buckets (most events fall back)', layout: 'hash', slots: 15, buckets: 8, events: 2000 },
    { name: 'string table of 64 buckets (some fall back)', layout: 'string', slots: 8, buckets: 64, events: 600 },
    { name: 'hash table of 32 buckets (some fall back)', layout: 'hash', slots: 15, buckets: 32, events: 600 },
  ];
  for (const c of cases) {
    it(`agrees with a ${c.name}`, { timeout: 60_000 }, async () => {
      await client.flushall();
      const windowMs = 60_000;
      const old = new DedupStore(client, { namespace: 'old', partitions: 1, windowMs });
      const table = new TableDedupStore(client, {
        namespace: 'new',
        partitions: 1,
        windowMs,
        buckets: c.buckets,
        slots: c.slots,
        layout: c.layout,
      });
      let copies = 0;
      for (const [i, batch] of scenario(20 + c.buckets, c.events, 150).entries()) {
        const [expected] = await old.decide(batch);
        const [got] = await table.decide(batch);
        assert.deepEqual(got!.occurrences, expected!.occurrences, `batch ${i} (${batch.receiverId})`);
        copies += expected!.occurrences.length;
      }
      // A redelivered batch gets its stored decisions.
      const again = scenario(20 + c.buckets, c.events, 150)[0]!;
      const [reused] = await table.decide(again);
      assert.equal(reused!.reused, true);
      const s = table.stats;
      assert.equal(s.tableHits + s.tableInserts + s.perEventKeyCopies, copies, JSON.stringify(s));
      if (c.buckets <= 64) assert.ok(s.bucketFull > 0, JSON.stringify(s));
      // A third receiver, a count past 15 and receivers without a tag all move slots to per-event keys.
      assert.ok(s.migrations > 0, JSON.stringify(s));
    });
  }

  for (const layout of ['string', 'hash'] as const)
    it(
      `forgets an event a window and one stamp unit after its last copy (${layout})`,
      { timeout: 20_000 },
      async () => {
        await client.flushall();
        const windowMs = 800;
        const table = new TableDedupStore(client, {
          namespace: 'new',
          partitions: 1,
          windowMs,
          buckets: 64,
          slots: 8,
          layout,
        });
        const [key] = keyPool(1, generator(7));
        const first = await table.decide(batchOf('a', 1, [key!]));
        const within = await table.decide(batchOf('b', 2, [key!]));
        assert.deepEqual([first[0]!.occurrences, within[0]!.occurrences], [[1], [0]]);
        await sleep(windowMs + windowMs / 8 + 200);
        const after = await table.decide(batchOf('b', 3, [key!]));
        assert.deepEqual(after[0]!.occurrences, [1]);
      },
    );
});
