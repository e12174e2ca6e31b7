import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChunkRange, NewEventBatch } from '../../../shared/batch-codec.js';
import { selectUnique } from '../../../dedup-worker/batch-decision.js';
import { DedupStore } from '../../../dedup-worker/dedup-store.js';
import { hashSlot } from '../../../dedup-worker/hash-slot.js';
import { chunkKeyName, replicaKeyNameOfHex } from '../../../dedup-worker/partitioning.js';
import { cleanupNamespace, REDIS_URL, uniqueNamespace } from '../../../testkit/services.js';

const key = (text: string) => createHash('sha256').update(text).digest().subarray(0, 16);

let seq = 0;
function batch(receiverId: string, lines: string[], bootId = 'boot1', chunks?: ChunkRange[]): NewEventBatch {
  return {
    receiverId,
    bootId,
    seq: seq++,
    keys: Buffer.concat(lines.map(key)),
    bodies: lines.map((l) => Buffer.from(l)),
    ...(chunks ? { chunks } : {}),
  };
}

/** A batch whose events [first, end) came as one Forward chunk. */
function chunked(receiverId: string, lines: string[], chunkName: string, first = 0, end = lines.length): NewEventBatch {
  return batch(receiverId, lines, 'boot1', [{ id: key(`chunk:${chunkName}`), first, end }]);
}

describe('dedup script against the real Redis', () => {
  const namespace = uniqueNamespace('dedup');
  const redis = new Redis(REDIS_URL);
  let store: DedupStore;
  before(() => {
    store = new DedupStore(redis, { namespace, partitions: 1, windowMs: 60_000 });
  });
  after(async () => {
    await cleanupNamespace(namespace);
    redis.disconnect();
  });

  const decide = async (b: NewEventBatch) => selectUnique(b, await store.decide(b));
  const bodies = (s: { bodies: Uint8Array[] }) => s.bodies.map((x) => Buffer.from(x).toString());

  it('keeps the first copy and drops the copy from the other receiver', async () => {
    const a = await decide(batch('a', ['x1', 'x2']));
    const b = await decide(batch('b', ['x1', 'x2']));
    assert.deepEqual(bodies(a), ['x1', 'x2']);
    assert.deepEqual(a.occurrences, [1, 1]);
    assert.equal(b.ids.length, 0);
    assert.equal(b.duplicates, 2);
  });

  it('keeps a real repeat of an identical line, with a new id, and drops its copies', async () => {
    const first = await decide(batch('a', ['r1']));
    const firstCopy = await decide(batch('b', ['r1']));
    const repeat = await decide(batch('b', ['r1']));
    const repeatCopy = await decide(batch('a', ['r1']));
    assert.equal(first.ids.length, 1);
    assert.equal(firstCopy.ids.length, 0);
    assert.deepEqual(repeat.occurrences, [2]);
    assert.notEqual(repeat.ids[0], first.ids[0]);
    assert.equal(repeatCopy.ids.length, 0);
  });

  it('counts a repeat inside one batch as two occurrences', async () => {
    const s = await decide(batch('a', ['same', 'same']));
    assert.deepEqual(s.occurrences, [1, 2]);
    const copy = await decide(batch('b', ['same', 'same']));
    assert.equal(copy.ids.length, 0);
  });

  it('a copy one receiver missed does not shift later decisions', async () => {
    // The device sends line L twice (a real repeat); receiver a loses the first copy.
    const b1 = await decide(batch('b', ['L'])); // occurrence 1 via b
    const a2 = await decide(batch('a', ['L'])); // a's first copy is occurrence 2: a=1, b=1, not above: duplicate
    const b2 = await decide(batch('b', ['L'])); // b=2 above a=1: occurrence 2, unique
    assert.deepEqual([b1.occurrences, a2.occurrences, b2.occurrences], [[1], [], [2]]);
    assert.equal(b1.ids.length + a2.ids.length + b2.ids.length, 2, 'both real occurrences kept, no copy twice');
  });

  it('a redelivered batch reuses its decisions and counts nothing twice', async () => {
    const b = batch('a', ['d1', 'd2', 'd1']);
    const first = await decide(b);
    const again = await decide(b);
    assert.equal(again.reused, true);
    assert.deepEqual(again.ids, first.ids);
    const decisions = await store.decide(b);
    await store.markPublished(b, decisions);
    const afterPublish = await decide(b);
    assert.equal(afterPublish.alreadyPublished, true);
    // The other receiver's copy still sees counts of 1 and 2, not 2 and 4.
    const copy = await decide(batch('b', ['d1', 'd2', 'd1']));
    assert.equal(copy.ids.length, 0);
  });

  it('sets the dedup window as the key TTL', async () => {
    const b = batch('a', ['ttl-line']);
    await decide(b);
    const ttl = await redis.pttl(`${namespace}:{p0}:e:${key('ttl-line').toString('hex')}`);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
  });

  it('refreshes the window on every copy and keeps the counts per receiver in one string', async () => {
    const name = `${namespace}:{p0}:e:${key('refresh-line').toString('hex')}`;
    await decide(batch('a', ['refresh-line']));
    await redis.pexpire(name, 1_000);
    await decide(batch('b', ['refresh-line']));
    assert.ok((await redis.pttl(name)) > 50_000, 'a later copy restarts the window');
    assert.equal(await redis.get(name), 'a=1,b=1');
    await decide(batch('a', ['refresh-line']));
    assert.equal(await redis.get(name), 'b=1,a=2');
  });

  it('reads and updates a key an older version left as a hash of counts (rolling upgrade)', async () => {
    const name = `${namespace}:{p0}:e:${key('legacy-line').toString('hex')}`;
    await redis.hset(name, 'a', '1');
    await redis.pexpire(name, 60_000);
    const copy = await decide(batch('b', ['legacy-line']));
    assert.equal(copy.ids.length, 0, 'the copy of an event an old worker kept is dropped');
    const repeat = await decide(batch('a', ['legacy-line']));
    assert.deepEqual(repeat.occurrences, [2], 'a real repeat is still counted');
    assert.deepEqual(await redis.hgetall(name), { a: '2', b: '1' });
  });

  it('drops a chunk resent to the same receiver whole, and counts none of it', async () => {
    const first = await decide(chunked('a', ['c1-x', 'c1-y'], 'c1'));
    const resend = await decide(chunked('a', ['c1-x', 'c1-y'], 'c1'));
    assert.deepEqual(bodies(first), ['c1-x', 'c1-y']);
    assert.equal(resend.ids.length, 0);
    assert.equal(resend.chunkResends, 2);
    assert.equal(resend.duplicates, 0, 'a resend is not a duplicate copy');
    // Not counted: a real repeat of the same event afterwards is occurrence 2, not 3.
    const repeat = await decide(batch('a', ['c1-x']));
    assert.deepEqual(repeat.occurrences, [2]);
  });

  it('decides the same chunk id at another receiver per event: duplicates, counted, not resends', async () => {
    // Fluent Bit gives a chunk the same id in every forward output: b's copy of the chunk is a fan-out copy.
    const viaA = await decide(chunked('a', ['c2-x', 'c2-y', 'c2-z'], 'c2'));
    const viaB = await decide(chunked('b', ['c2-x', 'c2-y', 'c2-z'], 'c2'));
    assert.equal(viaA.ids.length, 3);
    assert.equal(viaB.ids.length, 0);
    assert.equal(viaB.chunkResends, 0, 'not a resend: b never had this chunk');
    assert.equal(viaB.duplicates, 3, 'each a duplicate of the first copy, counted for b');
    // Each receiver's own resend is still dropped whole and not counted.
    const resendA = await decide(chunked('a', ['c2-x', 'c2-y', 'c2-z'], 'c2'));
    const resendB = await decide(chunked('b', ['c2-x', 'c2-y', 'c2-z'], 'c2'));
    assert.deepEqual([resendA.chunkResends, resendB.chunkResends], [3, 3]);
    assert.deepEqual([resendA.duplicates, resendB.duplicates], [0, 0]);
    // The counts are a=1, b=1: a real repeat of one event is occurrence 2, and its copy a duplicate.
    const repeat = await decide(batch('b', ['c2-x']));
    const repeatCopy = await decide(batch('a', ['c2-x']));
    assert.deepEqual(repeat.occurrences, [2]);
    assert.equal(repeatCopy.ids.length, 0);
  });

  it('keeps the events around a resent chunk in the same batch', async () => {
    await decide(chunked('a', ['c3-x'], 'c3'));
    const mixed = await decide(
      batch('a', ['before', 'c3-x', 'after'], 'boot1', [{ id: key('chunk:c3'), first: 1, end: 2 }]),
    );
    assert.deepEqual(bodies(mixed), ['before', 'after']);
    assert.equal(mixed.chunkResends, 1);
  });

  it('counts the same chunk twice in one batch once', async () => {
    const id = key('chunk:c4');
    const s = await decide(
      batch('a', ['c4-x', 'c4-x'], 'boot1', [
        { id, first: 0, end: 1 },
        { id, first: 1, end: 2 },
      ]),
    );
    assert.deepEqual(s.occurrences, [1]);
    assert.equal(s.chunkResends, 1);
  });

  it('a redelivered batch with a chunk reuses its decisions (it is not its own resend)', async () => {
    const b = chunked('a', ['c5-x', 'c5-y'], 'c5');
    const first = await decide(b);
    const again = await decide(b);
    assert.equal(again.reused, true);
    assert.deepEqual(again.ids, first.ids);
    assert.equal(again.chunkResends, 0);
    const resendBatch = chunked('a', ['c5-x', 'c5-y'], 'c5', 0, 2);
    const resend = await decide(resendBatch);
    const resendAgain = await decide(resendBatch);
    assert.equal(resend.chunkResends, 2);
    assert.equal(resendAgain.reused, true);
    assert.equal(resendAgain.chunkResends, 2, 'the stored decisions keep the resend count');
    assert.equal(resendAgain.ids.length, 0);
  });

  it("keeps chunk and replica keys in their partition's hash slot (Redis Cluster: one slot per script call)", () => {
    for (const p of [0, 5, 15]) {
      const slot = hashSlot(`{p${p}}`);
      assert.equal(hashSlot(chunkKeyName('fanin', p, 'recv-{x}', key('c'))), slot, 'a receiver id never moves the key');
      assert.equal(hashSlot(replicaKeyNameOfHex('fanin', p, key('r').toString('hex'))), slot);
    }
  });

  it('remembers a chunk for the dedup window', async () => {
    await decide(chunked('a', ['c6-x'], 'c6'));
    const ttl = await redis.pttl(`${namespace}:{p0}:c:a:${key('chunk:c6').toString('hex')}`);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
  });

  it('drops a resent chunk whole across partitions', async () => {
    const partitioned = new DedupStore(redis, { namespace: namespace + 'q', partitions: 16, windowMs: 60_000 });
    const lines = Array.from({ length: 40 }, (_, i) => `q-${i}`);
    const b1 = chunked('a', lines, 'q1');
    const d1 = await partitioned.decide(b1);
    assert.ok(d1.length > 1, 'chunk spread over several partitions');
    assert.equal(selectUnique(b1, d1).ids.length, 40);
    const b2 = chunked('a', lines, 'q1');
    const s2 = selectUnique(b2, await partitioned.decide(b2));
    assert.equal(s2.ids.length, 0);
    assert.equal(s2.chunkResends, 40);
    const b3 = chunked('b', lines, 'q1');
    const s3 = selectUnique(b3, await partitioned.decide(b3));
    assert.deepEqual([s3.ids.length, s3.chunkResends, s3.duplicates], [0, 0, 40], 'at another receiver: duplicates');
    await cleanupNamespace(namespace + 'q');
  });

  it('decides a replicated event by its original id: first arrival unique under that id, every later one a duplicate', async () => {
    const origin = 'ab'.repeat(16) + '-3';
    const replicated = (receiverId: string, extra: string[] = []): NewEventBatch => {
      const b = batch(receiverId, [`replica:${origin}`, ...extra]);
      return { ...b, origins: [origin, ...extra.map(() => null)] };
    };
    const first = await decide(replicated('a', ['plain-r1']));
    assert.deepEqual(first.ids, [origin, first.ids[1]], 'published under its original id');
    assert.match(first.ids[1]!, /^[0-9a-f]{32}-1$/, 'an ordinary event beside it is counted as usual');
    const again = await decide(replicated('a'));
    const elsewhere = await decide(replicated('b', ['plain-r1']));
    assert.deepEqual(
      [again.ids.length, again.duplicates],
      [0, 1],
      'along a second path into the same receiver: a duplicate, not occurrence 2',
    );
    assert.deepEqual([elsewhere.ids.length, elsewhere.duplicates], [0, 2]);
    const b = replicated('c');
    const once = await decide(b);
    const redelivered = await decide(b);
    assert.equal(once.ids.length, 0);
    assert.equal(redelivered.reused, true);
  });

  it('gives the same decisions with many partitions (one script call per partition present)', async () => {
    const partitioned = new DedupStore(redis, { namespace: namespace + 'p', partitions: 16, windowMs: 60_000 });
    const lines = Array.from({ length: 50 }, (_, i) => `p-${i}`);
    const b1 = batch('a', lines);
    const d1 = await partitioned.decide(b1);
    assert.ok(d1.length > 1, 'batch spread over several partitions');
    assert.equal(selectUnique(b1, d1).ids.length, 50);
    const b2 = batch('b', lines);
    assert.equal(selectUnique(b2, await partitioned.decide(b2)).ids.length, 0);
    await cleanupNamespace(namespace + 'p');
  });
});
