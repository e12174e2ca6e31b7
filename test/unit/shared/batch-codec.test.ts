import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import {
  BatchDecodeError,
  decodeNewEventBatch,
  decodeProcessedBatch,
  encodeNewEventBatch,
  encodeProcessedBatch,
  keyAt,
  keyHexAt,
} from '../../../shared/batch-codec.js';

describe('batch codec', () => {
  const keys = Buffer.alloc(32, 7);
  keys.fill(9, 16);
  const bodies = [Buffer.from('one'), Buffer.from('two')];

  it('round-trips a new-event batch, keys readable without decoding bodies', () => {
    const decoded = decodeNewEventBatch(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b00t', seq: 42, keys, bodies }),
    );
    assert.equal(decoded.receiverId, 'a');
    assert.equal(decoded.bootId, 'b00t');
    assert.equal(decoded.seq, 42);
    assert.deepEqual(Buffer.from(keyAt(decoded, 1)), Buffer.alloc(16, 9));
    assert.deepEqual(
      decoded.bodies.map((b) => Buffer.from(b).toString()),
      ['one', 'two'],
    );
  });

  it('writes version 2 with chunk ranges, version 1 without, and reads both', () => {
    const id = Buffer.alloc(16, 3);
    const v2 = encodeNewEventBatch({
      receiverId: 'a',
      bootId: 'b00t',
      seq: 7,
      keys,
      bodies,
      chunks: [{ id, first: 0, end: 2 }],
    });
    assert.equal(v2[1], 2, 'version 2 when chunks are present');
    const decoded = decodeNewEventBatch(v2);
    assert.deepEqual(
      decoded.chunks?.map((c) => [Buffer.from(c.id), c.first, c.end]),
      [[id, 0, 2]],
    );
    const v1 = encodeNewEventBatch({ receiverId: 'a', bootId: 'b00t', seq: 8, keys, bodies, chunks: [] });
    assert.equal(v1[1], 1, 'still version 1 without chunks: workers not yet upgraded read it');
    assert.equal(decodeNewEventBatch(v1).chunks, undefined);
  });

  it('rejects chunk ranges that are out of order, empty, overlapping or outside the batch', () => {
    const id = Buffer.alloc(16, 3);
    const bad = (chunks: unknown) => () => decodeNewEventBatch(encode([2, 'a', 'b', 1, keys, bodies, chunks]));
    assert.throws(bad([[id, 0, 3]]), /outside 2 events/);
    assert.throws(bad([[id, 1, 1]]), /out of order/);
    assert.throws(
      bad([
        [id, 0, 2],
        [id, 1, 2],
      ]),
      /out of order/,
    );
    assert.throws(bad([[Buffer.alloc(0), 0, 1]]), /bad chunk id/);
    assert.throws(bad([['text', 0, 1]]), /bad chunk id/);
    assert.throws(bad('x'), /chunks are not an array/);
    assert.throws(
      () => decodeNewEventBatch(encode([1, 'a', 'b', 1, keys, bodies, []])),
      /unsupported version 1 with 7 fields/,
    );
  });

  it("gives each event's key in hex, the same as converting that key alone", () => {
    const batch = decodeNewEventBatch(encodeNewEventBatch({ receiverId: 'a', bootId: 'b00t', seq: 1, keys, bodies }));
    for (let i = 0; i < bodies.length; i++)
      assert.equal(keyHexAt(batch, i), Buffer.from(keyAt(batch, i)).toString('hex'));
    assert.equal(keyHexAt(batch, 1), '09'.repeat(16));
  });

  it('round-trips a processed batch', () => {
    const decoded = decodeProcessedBatch(encodeProcessedBatch({ sourceBatchId: 'a:b:1', ids: ['x-1', 'y-2'], bodies }));
    assert.deepEqual(decoded.ids, ['x-1', 'y-2']);
    assert.equal(decoded.sourceBatchId, 'a:b:1');
  });

  it('rejects poison with a typed error naming the problem', () => {
    assert.throws(() => decodeNewEventBatch(Buffer.from('not msgpack at all \xc1')), BatchDecodeError);
    assert.throws(() => decodeNewEventBatch(encode([2, 'a', 'b', 1, keys, bodies])), /unsupported version 2/);
    assert.throws(
      () => decodeNewEventBatch(encode([1, 'a', 'b', 1, keys.subarray(0, 20), bodies])),
      /20 key bytes for 2 events/,
    );
    assert.throws(() => decodeNewEventBatch(encode([1, 'a', 'b', -1, keys, bodies])), /bad sequence/);
    assert.throws(() => decodeProcessedBatch(encode([1, 's', ['x'], []])), /bodies do not match/);
  });

  it('writes every version byte for byte as the msgpack library writes the same array (workers of any version read it)', () => {
    const body = (n: number, fill: number) => Buffer.alloc(n, fill);
    const shapes: Uint8Array[][] = [
      [],
      [body(3, 1)],
      Array.from({ length: 15 }, (_, i) => body(i * 20, i)),
      Array.from({ length: 16 }, (_, i) => body(250 + i, i)),
      [body(0, 0), body(255, 1), body(256, 2), body(65_535, 3), body(65_536, 4), new Uint8Array([9, 8, 7])],
      Array.from({ length: 70_000 }, (_, i) => body(1, i & 0xff)),
    ];
    for (const bodies of shapes) {
      const n = bodies.length;
      const keys = Buffer.alloc(n * 16, 5);
      const routes = { tags: ['syslog.local0.info', 'app'], keys: new Uint8Array(n * 3) };
      const chunks = n > 0 ? [{ id: Buffer.alloc(16, 3), first: 0, end: n }] : [];
      const origins = Array.from({ length: n }, (_, i) => (i === 0 ? `${'ab'.repeat(16)}-1` : null));
      for (const seq of [0, 127, 128, 65_536, 2 ** 32 + 1]) {
        const head = { receiverId: 'récepteur', bootId: 'b00t', seq, keys, bodies } as const;
        const chunkList = chunks.map((c) => [c.id, c.first, c.end]);
        const same = (got: Buffer, want: unknown[], what: string) =>
          assert.ok(Buffer.from(encode(want)).equals(got), `${what}, ${n} bodies, seq ${seq}`);
        same(encodeNewEventBatch(head), [1, 'récepteur', 'b00t', seq, keys, bodies], 'v1');
        if (n > 0)
          same(encodeNewEventBatch({ ...head, chunks }), [2, 'récepteur', 'b00t', seq, keys, bodies, chunkList], 'v2');
        same(
          encodeNewEventBatch({ ...head, chunks, routes }),
          [3, 'récepteur', 'b00t', seq, keys, bodies, chunkList, routes.tags, routes.keys],
          'v3',
        );
        if (n > 0)
          same(
            encodeNewEventBatch({ ...head, origins }),
            [4, 'récepteur', 'b00t', seq, keys, bodies, [], null, null, origins],
            'v4',
          );
      }
    }
  });
});
