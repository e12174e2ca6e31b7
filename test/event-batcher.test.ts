import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBatcher, type SealedBatch } from '../receiver/event-batcher.js';

const key = (n: number) => Buffer.alloc(16, n);

describe('event batcher', () => {
  it('seals at the event count bound, keeping keys in event order', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 3, maxBytes: 1e6, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    for (let i = 1; i <= 7; i++) b.add(key(i), Buffer.from([i]));
    assert.equal(sealed.length, 2);
    assert.deepEqual(sealed.map((s) => s.bodies.length), [3, 3]);
    assert.deepEqual(sealed[1]!.keys, Buffer.concat([key(4), key(5), key(6)]));
    b.flush();
    assert.equal(sealed.length, 3);
    assert.deepEqual(sealed.map((s) => s.seq), [0, 1, 2]);
  });

  it('seals before an event would pass the byte bound', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 100, maxBytes: 100, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    const seqA = b.add(key(1), Buffer.alloc(60));
    const seqB = b.add(key(2), Buffer.alloc(60));
    assert.equal(sealed.length, 1);
    assert.equal(sealed[0]!.bodies.length, 1);
    assert.notEqual(seqA, seqB);
    b.flush();
    assert.equal(sealed.length, 2);
  });

  it('seals by age', async () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 100, maxBytes: 1e6, maxDelayMs: 10 }, (s) => sealed.push(s));
    b.add(key(1), Buffer.from('x'));
    assert.equal(sealed.length, 0);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(sealed.length, 1);
  });
});
