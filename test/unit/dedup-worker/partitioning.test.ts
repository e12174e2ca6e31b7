// Dedup key layout: every key of one partition carries the same hash tag, so a Redis Cluster keeps them in one slot
// and one script call can touch them all.
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NewEventBatch } from '../../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../../shared/event-key.js';
import { hashSlot } from '../../../dedup-worker/hash-slot.js';
import {
  batchRecordKeyName,
  chunkIndexOfEvents,
  chunkKeyName,
  dedupKeyNameOfHex,
  groupByPartition,
  partitionOf,
  replicaKeyNameOfHex,
} from '../../../dedup-worker/partitioning.js';

/** A batch whose event i has a key starting with the two bytes of `prefixes[i]`. */
function batchOf(prefixes: number[], chunks?: NewEventBatch['chunks']): NewEventBatch {
  const keys = Buffer.alloc(prefixes.length * EVENT_KEY_BYTES);
  prefixes.forEach((p, i) => keys.writeUInt16BE(p, i * EVENT_KEY_BYTES));
  return {
    receiverId: 'r',
    bootId: 'b',
    seq: 1,
    keys,
    bodies: prefixes.map(() => Buffer.of(0)),
    ...(chunks ? { chunks } : {}),
  };
}

describe('partitioning', () => {
  it('derives the partition from the first two key bytes, and always 0 with one partition', () => {
    const key = Buffer.from([0x01, 0x02, 0xff]);
    assert.equal(partitionOf(key, 1), 0);
    assert.equal(partitionOf(key, 16), 0x0102 % 16);
    assert.equal(partitionOf(key, 7), 0x0102 % 7);
  });

  it('puts every key kind of one partition in one cluster hash slot, and different partitions apart', () => {
    const names = [
      dedupKeyNameOfHex('ns', 3, 'aa'),
      replicaKeyNameOfHex('ns', 3, 'bb'),
      chunkKeyName('ns', 3, 'receiver-1', Buffer.from([1, 2])),
      batchRecordKeyName('ns', 3, 'r:b:1'),
    ];
    assert.equal(new Set(names.map((n) => hashSlot(n))).size, 1, names.join(' '));
    assert.notEqual(hashSlot(dedupKeyNameOfHex('ns', 4, 'aa')), hashSlot(dedupKeyNameOfHex('ns', 3, 'aa')));
    assert.equal(chunkKeyName('ns', 0, 'r1', Buffer.from([0xab, 0x01])), 'ns:{p0}:c:r1:ab01');
  });

  it('reads a chunk id given as a view into a larger buffer, not the whole buffer', () => {
    const whole = Buffer.from([9, 9, 0xca, 0xfe, 9]);
    assert.equal(chunkKeyName('ns', 1, 'r', whole.subarray(2, 4)), 'ns:{p1}:c:r:cafe');
  });

  it('groups event indices by partition, each group in batch order', () => {
    const groups = groupByPartition(batchOf([0, 1, 2, 4, 5, 3]), 2);
    assert.deepEqual([...groups.entries()].sort(), [
      [0, [0, 2, 3]],
      [1, [1, 4, 5]],
    ]);
    assert.deepEqual([...groupByPartition(batchOf([7, 8]), 1).entries()], [[0, [0, 1]]]);
  });

  it("groups by partitionOf's rule for any keys, read from a view into a larger buffer", () => {
    const whole = randomBytes(7 + 300 * EVENT_KEY_BYTES);
    const keys = whole.subarray(7);
    const batch = { ...batchOf(new Array<number>(300).fill(0)), keys };
    for (const partitions of [1, 2, 3, 16, 1000]) {
      const expected = new Map<number, number[]>();
      for (let i = 0; i < 300; i++) {
        const p = partitionOf(keys.subarray(i * EVENT_KEY_BYTES, (i + 1) * EVENT_KEY_BYTES), partitions);
        expected.set(p, [...(expected.get(p) ?? []), i]);
      }
      assert.deepEqual(groupByPartition(batch, partitions), expected, `${partitions} partitions`);
    }
    assert.equal(groupByPartition(batchOf([]), 1).size, 0, 'an empty batch has no partition to call');
  });

  it('maps each event to the chunk range holding it, -1 outside every range', () => {
    const b = batchOf(
      [0, 0, 0, 0, 0],
      [
        { first: 1, end: 3, id: Buffer.from('c1') },
        { first: 4, end: 5, id: Buffer.from('c2') },
      ],
    );
    assert.deepEqual([...chunkIndexOfEvents(b)], [-1, 0, 0, -1, 1]);
    assert.deepEqual([...chunkIndexOfEvents(batchOf([0, 0]))], [-1, -1]);
  });
});
