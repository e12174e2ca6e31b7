import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import {
  BatchDecodeError, decodeNewEventBatch, decodeProcessedBatch, encodeNewEventBatch, encodeProcessedBatch, keyAt,
} from '../shared/batch-codec.js';

describe('batch codec', () => {
  const keys = Buffer.alloc(32, 7);
  keys.fill(9, 16);
  const bodies = [Buffer.from('one'), Buffer.from('two')];

  it('round-trips a new-event batch, keys readable without decoding bodies', () => {
    const decoded = decodeNewEventBatch(encodeNewEventBatch({ receiverId: 'a', bootId: 'b00t', seq: 42, keys, bodies }));
    assert.equal(decoded.receiverId, 'a');
    assert.equal(decoded.bootId, 'b00t');
    assert.equal(decoded.seq, 42);
    assert.deepEqual(Buffer.from(keyAt(decoded, 1)), Buffer.alloc(16, 9));
    assert.deepEqual(decoded.bodies.map((b) => Buffer.from(b).toString()), ['one', 'two']);
  });

  it('round-trips a processed batch', () => {
    const decoded = decodeProcessedBatch(encodeProcessedBatch({ sourceBatchId: 'a:b:1', ids: ['x-1', 'y-2'], bodies }));
    assert.deepEqual(decoded.ids, ['x-1', 'y-2']);
    assert.equal(decoded.sourceBatchId, 'a:b:1');
  });

  it('rejects poison with a typed error naming the problem', () => {
    assert.throws(() => decodeNewEventBatch(Buffer.from('not msgpack at all \xc1')), BatchDecodeError);
    assert.throws(() => decodeNewEventBatch(encode([2, 'a', 'b', 1, keys, bodies])), /unsupported version 2/);
    assert.throws(() => decodeNewEventBatch(encode([1, 'a', 'b', 1, keys.subarray(0, 20), bodies])), /20 key bytes for 2 events/);
    assert.throws(() => decodeNewEventBatch(encode([1, 'a', 'b', -1, keys, bodies])), /bad sequence/);
    assert.throws(() => decodeProcessedBatch(encode([1, 's', ['x'], []])), /bodies do not match/);
  });
});
