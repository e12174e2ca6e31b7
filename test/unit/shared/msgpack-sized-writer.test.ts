import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import {
  encodeProcessedBatch,
  encodeSelectedEvents,
  keyHexAt,
  newBatchId,
  type NewEventBatch,
  type ProcessedBatch,
} from '../../../shared/batch-codec.js';
import { EVENT_KEY_BYTES, eventIdOfHex } from '../../../shared/event-key.js';
import { arraySize, binSize, MsgpackSizedWriter, strSize, uintSize } from '../../../shared/msgpack-sized-writer.js';

// The processed batch is a wire format: the sized writer must give the very bytes @msgpack/msgpack's Encoder gives
// (what every worker wrote before it), not only bytes that decode to the same values.
function libraryBytes(b: ProcessedBatch): Buffer {
  const value = b.routes
    ? [2, b.sourceBatchId, b.ids, b.bodies, b.routes.tags, b.routes.keys]
    : [1, b.sourceBatchId, b.ids, b.bodies];
  return Buffer.from(encode(value));
}

function written(write: (w: MsgpackSizedWriter) => void, size: number): Buffer {
  const w = new MsgpackSizedWriter(Buffer.alloc(size));
  write(w);
  assert.equal(w.length, size);
  return w.buffer;
}

describe('msgpack sized writer', () => {
  it('writes every string length class as the Encoder does, ASCII, not ASCII and lone surrogates', () => {
    for (const length of [0, 1, 31, 32, 33, 255, 256, 65535, 65536, 70000]) {
      for (const unit of ['a', 'é', '€', '😀', '\ud800', '\udc00x']) {
        const s = unit.repeat(length).slice(0, length);
        assert.deepEqual(
          written((w) => w.str(s), strSize(s)),
          Buffer.from(encode(s)),
          `${length} × ${JSON.stringify(unit)}`,
        );
      }
    }
  });

  it('writes every binary and array length class as the Encoder does', () => {
    for (const length of [0, 1, 15, 16, 255, 256, 65535, 65536, 70000]) {
      const bytes = Buffer.alloc(length, 0xab);
      assert.deepEqual(
        written((w) => w.bin(bytes), binSize(length)),
        Buffer.from(encode(bytes)),
        `bin ${length}`,
      );
      const items = new Array<number>(length).fill(1);
      assert.deepEqual(
        written(
          (w) => {
            w.array(length);
            for (let i = 0; i < length; i++) w.uint(1);
          },
          arraySize(length) + length * uintSize(1),
        ),
        Buffer.from(encode(items)),
        `array ${length}`,
      );
    }
  });

  it('takes only positive fixints as integers', () => {
    assert.equal(uintSize(0), 1);
    assert.equal(uintSize(127), 1);
    assert.throws(() => uintSize(128), RangeError);
    assert.throws(() => uintSize(-1), RangeError);
    assert.throws(() => uintSize(1.5), RangeError);
  });

  it('encodes any processed batch to the same bytes as the Encoder', () => {
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 40 }));
    const batch = fc
      .record({
        sourceBatchId: text,
        events: fc.array(fc.record({ id: text, body: fc.uint8Array({ maxLength: 600 }) }), { maxLength: 40 }),
        routes: fc.option(fc.record({ tags: fc.array(text, { maxLength: 20 }), keys: fc.uint8Array() })),
      })
      .map(({ sourceBatchId, events, routes }): ProcessedBatch => ({
        sourceBatchId,
        ids: events.map((e) => e.id),
        bodies: events.map((e) => e.body),
        ...(routes ? { routes } : {}),
      }));
    fc.assert(
      fc.property(batch, (b) => {
        assert.deepEqual(encodeProcessedBatch(b), libraryBytes(b));
      }),
      { numRuns: 500 },
    );
  });

  it("encodes a worker's processed batch (hex ids, binary bodies, route keys) to the same bytes as the Encoder", () => {
    const ids = Array.from({ length: 600 }, (_, i) => `${i.toString(16).padStart(32, '0')}-${(i % 3) + 1}`);
    const bodies = ids.map((_, i) => Buffer.alloc(200 + (i % 120), i));
    const routes = { tags: ['syslog.local0.info', 'app.é'], keys: Buffer.alloc(600 * 3, 1) };
    for (const b of [
      { sourceBatchId: 'a:0f3c:17', ids, bodies },
      { sourceBatchId: 'a:0f3c:17', ids, bodies, routes },
      { sourceBatchId: 'a:0f3c:18', ids: [], bodies: [], routes: { tags: [], keys: Buffer.alloc(0) } },
    ])
      assert.deepEqual(encodeProcessedBatch(b), libraryBytes(b));
  });

  it('writes the selected events of a new batch, ids from the keys, as encodeProcessedBatch writes them as strings', () => {
    const arb = fc
      .record({
        events: fc.array(
          fc.record({
            key: fc.uint8Array({ minLength: EVENT_KEY_BYTES, maxLength: EVENT_KEY_BYTES }),
            body: fc.uint8Array({ maxLength: 300 }),
            origin: fc.option(
              fc.constantFrom('0123456789abcdef0123456789abcdef-1', 'ffffffffffffffffffffffffffffffff-42'),
            ),
            kept: fc.boolean(),
            occurrence: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 2 ** 40 })),
          }),
          { maxLength: 30 },
        ),
        withOrigins: fc.boolean(),
        routes: fc.option(fc.record({ tags: fc.array(fc.string(), { maxLength: 4 }), keys: fc.uint8Array() })),
      })
      .map(({ events, withOrigins, routes }) => {
        const batch: NewEventBatch = {
          receiverId: 'rcv-é',
          bootId: '0f3c',
          seq: 9,
          keys: Buffer.concat(events.map((e) => e.key)),
          bodies: events.map((e) => e.body),
          ...(withOrigins ? { origins: events.map((e) => e.origin) } : {}),
        };
        const indices = events.flatMap((e, i) => (e.kept ? [i] : []));
        const occurrences = indices.map((i) => events[i]!.occurrence);
        return { batch, indices, occurrences, routes: routes ?? undefined };
      });
    fc.assert(
      fc.property(arb, ({ batch, indices, occurrences, routes }) => {
        const ids = indices.map((i, j) => batch.origins?.[i] ?? eventIdOfHex(keyHexAt(batch, i), occurrences[j]!));
        const expected: ProcessedBatch = {
          sourceBatchId: newBatchId(batch),
          ids,
          bodies: indices.map((i) => batch.bodies[i]!),
          ...(routes ? { routes } : {}),
        };
        assert.deepEqual(encodeSelectedEvents(batch, indices, occurrences, routes), libraryBytes(expected));
      }),
      { numRuns: 500 },
    );
  });
});
