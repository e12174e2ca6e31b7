import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBatcher, type SealedBatch } from '../../../receiver/event-batcher.js';
import { Intake, type IntakePublisher } from '../../../receiver/intake.js';

const key = (n: number) => Buffer.alloc(16, n);

describe('event batcher', () => {
  it('seals at the event count bound, keeping keys in event order', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 3, maxBytes: 1e6, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    for (let i = 1; i <= 7; i++) b.add(key(i), Buffer.from([i]));
    assert.equal(sealed.length, 2);
    assert.deepEqual(
      sealed.map((s) => s.bodies.length),
      [3, 3],
    );
    assert.deepEqual(sealed[1]!.keys, Buffer.concat([key(4), key(5), key(6)]));
    b.flush();
    assert.equal(sealed.length, 3);
    assert.deepEqual(
      sealed.map((s) => s.seq),
      [0, 1, 2],
    );
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

  const ev = (n: number, size = 1) => ({ key: key(n), body: Buffer.alloc(size, n) });

  it('keeps a group in one batch: seals the open batch first when the group does not fit', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 4, maxBytes: 1e6, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    b.add(key(1), Buffer.from([1]));
    b.add(key(2), Buffer.from([2]));
    const seq = b.addGroup([ev(3), ev(4), ev(5)], Buffer.from('chunk-a'));
    assert.equal(sealed.length, 1, 'the open batch was sealed before the group');
    assert.deepEqual(sealed[0]!.chunks, []);
    b.flush();
    const group = sealed[1]!;
    assert.equal(group.seq, seq);
    assert.deepEqual(
      group.bodies.map((x) => x[0]),
      [3, 4, 5],
    );
    assert.deepEqual(
      group.chunks.map((c) => [Buffer.from(c.id).toString(), c.first, c.end]),
      [['chunk-a', 0, 3]],
    );
  });

  it("shares a batch between small groups and single events, with each group's range", () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 10, maxBytes: 1e6, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    b.add(key(1), Buffer.from([1]));
    b.addGroup([ev(2), ev(3)], Buffer.from('g1'));
    b.add(key(4), Buffer.from([4]));
    b.addGroup([ev(5)], Buffer.from('g2'));
    b.flush();
    assert.equal(sealed.length, 1);
    assert.deepEqual(
      sealed[0]!.chunks.map((c) => [c.first, c.end]),
      [
        [1, 3],
        [4, 5],
      ],
    );
    assert.deepEqual(sealed[0]!.keys, Buffer.concat([1, 2, 3, 4, 5].map(key)));
  });

  it('gives a group larger than the bounds one oversize batch of its own', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 3, maxBytes: 100, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    b.add(key(1), Buffer.from([1]));
    const big = Array.from({ length: 7 }, (_, i) => ev(10 + i, 30));
    const seq = b.addGroup(big, Buffer.from('big'));
    assert.equal(sealed.length, 2);
    assert.equal(sealed[1]!.seq, seq);
    assert.equal(sealed[1]!.bodies.length, 7);
    assert.equal(sealed[1]!.keys.length, 7 * 16);
    assert.deepEqual(
      sealed[1]!.chunks.map((c) => [c.first, c.end]),
      [[0, 7]],
    );
    assert.equal(b.add(key(2), Buffer.from([2])), seq + 1, 'numbering continues after the oversize batch');
  });

  it('the intake waits for the open batch to be sealed and then confirmed (not at once)', async () => {
    const confirms = new Map<number, () => void>();
    const publisher = {
      canAccept: true,
      isPaused: false,
      on: () => undefined,
      whenConfirmed: (seq: number) => new Promise<void>((resolve) => confirms.set(seq, resolve)),
    } as unknown as IntakePublisher;
    const batcher = new EventBatcher({ maxEvents: 100, maxBytes: 1e6, maxDelayMs: 30 }, () => undefined);
    const intake = new Intake(batcher, publisher);
    const seq = intake.submit(key(1), Buffer.from('x'));
    let done = false;
    const waiting = intake.confirmed([seq]).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(confirms.size, 0, 'the publisher is not asked before the batch is sealed');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(confirms.has(seq), 'asked once the age bound sealed the batch');
    assert.equal(done, false, 'still waiting for the broker confirm');
    confirms.get(seq)!();
    await waiting;
    assert.equal(done, true);
  });
});
