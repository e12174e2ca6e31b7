import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, decodeNewEventBatch, decodeProcessedBatch, keyHexAt } from '../../../shared/batch-codec.js';
import { settings } from '../../../shared/config/settings.js';
import { DEFAULT_BATCH_BOUNDS, faninBatchPool, processedBatchPool } from '../../../bench/lib/fanin-batches.js';
import { quantile } from '../../../bench/lib/bench-numbers.js';

/**
 * The queue bench sizes fanin's broker from these batches, so they must be what a receiver and a worker really put
 * on the wire: decodable by the real codec, within the receiver's default bounds, and full (sealed by a bound).
 */
describe('bench: fanin-shaped batches for the queue ceiling', () => {
  it('new batches decode with the real codec, fill the default byte bound and carry parsed syslog bodies', () => {
    const pool = faninBatchPool('r1', 3);
    assert.equal(pool.batches.length, 3);
    for (const [i, b] of pool.batches.entries()) {
      const decoded = decodeNewEventBatch(b.payload);
      assert.equal(decoded.receiverId, 'r1');
      assert.equal(decoded.seq, i);
      assert.equal(decoded.bodies.length, b.events);
      assert.ok(b.events <= settings.batchMaxEvents.default);
      // Sealed by the byte bound: within it, and within one body of it.
      assert.ok(b.payload.byteLength <= DEFAULT_BATCH_BOUNDS.maxBytes + 1024, `${b.payload.byteLength} bytes`);
      assert.ok(b.payload.byteLength > DEFAULT_BATCH_BOUNDS.maxBytes * 0.95, `${b.payload.byteLength} bytes`);
      assert.equal((decodeBody(decoded.bodies[0]!) as { format: string }).format, 'rfc5424');
    }
  });

  it('smaller bounds make smaller batches', () => {
    const pool = faninBatchPool('r1', 2, { maxEvents: 50, maxBytes: DEFAULT_BATCH_BOUNDS.maxBytes });
    assert.deepEqual(
      pool.batches.map((b) => b.events),
      [50, 50],
    );
  });

  it('processed batches hold 1 / fan-out of the events, each id naming its key', () => {
    const pool = processedBatchPool('r2', 2, 2);
    for (const b of pool.batches) {
      const decoded = decodeProcessedBatch(b.payload);
      assert.equal(decoded.ids.length, b.events);
      assert.equal(decoded.bodies.length, b.events);
      assert.ok(b.events > 200 && b.events < 300, `${b.events} events`);
      assert.match(decoded.ids[0]!, /^[0-9a-f]{32}-1$/);
      assert.match(decoded.sourceBatchId, /^r2:[0-9a-f]+:\d+$/);
    }
    const news = faninBatchPool('r2', 1);
    assert.equal(keyHexAt(decodeNewEventBatch(news.batches[0]!.payload), 0).length, 32);
  });

  it('quantile takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(quantile(values, 0.5), 50);
    assert.equal(quantile(values, 0.99), 99);
    assert.equal(quantile([7], 0.99), 7);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });
});
