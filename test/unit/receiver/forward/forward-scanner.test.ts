import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { MsgpackFrameScanner, valueEnd } from '../../../../receiver/forward/msgpack-scanner.js';

/** The frame scanner against @msgpack/msgpack's own encodings, split at arbitrary points (undici's fuzzing style). */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map(Number),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 8 }),
  ),
})).node;

describe('msgpack frame scanner', () => {
  it('cuts a stream of values into exactly those values, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (values, cuts) => {
          const encoded = values.map((v) => Buffer.from(encode(v)));
          const stream = Buffer.concat(encoded);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const scanner = new MsgpackFrameScanner({ maxFrameBytes: 1 << 20, maxDepth: 64 });
          const frames: Buffer[] = [];
          let from = 0;
          for (const p of [...points, stream.length]) {
            frames.push(...scanner.push(stream.subarray(from, p)).frames);
            from = p;
          }
          assert.deepEqual(frames, encoded);
          assert.equal(scanner.buffered, 0);
          // valueEnd agrees on a complete buffer.
          let pos = 0;
          for (const e of encoded) {
            const end = valueEnd(stream, pos, stream.length, 64);
            assert.equal(end - pos, e.length);
            pos = end;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('feeds byte by byte without rescanning from the start (a 1 MB frame in 1-byte pushes is fast)', () => {
    const frame = Buffer.from(
      encode(['tag', Array.from({ length: 20_000 }, (_, i) => [i, { n: i, s: 'x'.repeat(20) }])]),
    );
    const scanner = new MsgpackFrameScanner({ maxFrameBytes: 4 << 20, maxDepth: 8 });
    const started = Date.now();
    let got: Buffer[] = [];
    for (let i = 0; i < frame.length; i += 1) got = got.concat(scanner.push(frame.subarray(i, i + 1)).frames);
    assert.equal(got.length, 1);
    assert.ok(got[0]!.equals(frame));
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  });

  it('hands out many small frames of one push without quadratic copying', () => {
    const one = Buffer.from(encode(['t', 1, { m: 'x' }]));
    const many = Buffer.concat(Array.from({ length: 50_000 }, () => one));
    const scanner = new MsgpackFrameScanner({ maxFrameBytes: 1 << 20, maxDepth: 8 });
    const started = Date.now();
    assert.equal(scanner.push(many).frames.length, 50_000);
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
  });
});
