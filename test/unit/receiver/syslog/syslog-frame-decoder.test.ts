import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameTooLargeError, SyslogFrameDecoder, trimLineEnd } from '../../../../receiver/syslog/frame-decoder.js';

const MAX = 4096;

/** Feeds `stream` cut at `cuts` (sorted, deduplicated offsets) and returns every frame, end() included. */
function decode(stream: Buffer, cuts: number[], maxFrameBytes = MAX): string[] {
  const decoder = new SyslogFrameDecoder({ maxFrameBytes });
  const frames: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    const { frames: got, error } = decoder.push(stream.subarray(prev, cut));
    frames.push(...got);
    if (error !== null) throw error;
    prev = cut;
  }
  const last = decoder.end();
  if (last !== null) frames.push(last);
  return frames.map((f) => f.toString('latin1'));
}

/** Outcome of a whole decode: the frames, or the code of the error thrown. */
function outcome(stream: Buffer, cuts: number[], maxFrameBytes: number): string[] | string {
  try {
    return decode(stream, cuts, maxFrameBytes);
  } catch (err) {
    return (err as { code: string }).code;
  }
}

const byteArb = fc.integer({ min: 0, max: 255 });
// A newline frame may hold anything but LF; its first byte must not look like MSG-LEN or a stray line end.
const newlineFrame = fc
  .tuple(
    fc.constantFrom(...'<abc -_'.split('').map((c) => c.charCodeAt(0))),
    fc.array(
      byteArb.filter((b) => b !== 0x0a),
      { maxLength: 60 },
    ),
  )
  .map(([first, rest]) => ({ kind: 'newline' as const, payload: Buffer.from([first, ...rest]) }));
// An octet-counted frame may hold any byte, LF included: that is what octet counting is for.
const octetFrame = fc
  .array(byteArb, { minLength: 1, maxLength: 80 })
  .map((bytes) => ({ kind: 'octet' as const, payload: Buffer.from(bytes) }));
const frameArb = fc.oneof(newlineFrame, octetFrame);

type GenFrame = { kind: 'newline' | 'octet'; payload: Buffer };

function encode(frames: GenFrame[], terminateLast: boolean): Buffer {
  return Buffer.concat(
    frames.map((f, i) =>
      f.kind === 'octet'
        ? Buffer.concat([Buffer.from(`${f.payload.length} `), f.payload])
        : Buffer.concat([f.payload, Buffer.from(i < frames.length - 1 || terminateLast ? '\n' : '')]),
    ),
  );
}

function expected(frames: GenFrame[]): string[] {
  return frames.map((f) => trimLineEnd(f.payload).toString('latin1')).filter((s) => s.length > 0);
}

const cutsArb = (length: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 12 }).map((a) => a.sort((x, y) => x - y));

describe('SyslogFrameDecoder', () => {
  it('yields the same frames however the stream is split (mixed octet-counted and newline frames)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 12 }).chain((frames) =>
          fc.tuple(fc.constant(frames), fc.boolean()).chain(([fs, terminateLast]) => {
            const stream = encode(fs, terminateLast);
            return fc.tuple(fc.constant(fs), fc.constant(stream), cutsArb(stream.length));
          }),
        ),
        ([frames, stream, cuts]) => {
          const want = expected(frames);
          assert.deepEqual(decode(stream, cuts), want);
          assert.deepEqual(decode(stream, []), want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same frames when fed one byte at a time', () => {
    const stream = Buffer.from('<13>a\r\n17 <14>1 - - - - - -\n\n<15>c\n5 <1>x\n<16>tail');
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    const want = ['<13>a', '<14>1 - - - - - -', '<15>c', '<1>x', '<16>tail'];
    assert.deepEqual(decode(stream, cuts), want);
    assert.deepEqual(decode(stream, []), want);
  });

  it('throws on an oversize frame whatever the split, and otherwise agrees with the unsplit stream', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 6 }).chain((frames) => {
          const stream = encode(frames, true);
          return fc.tuple(fc.constant(stream), cutsArb(stream.length), fc.integer({ min: 1, max: 70 }));
        }),
        ([stream, cuts, max]) => {
          assert.deepEqual(outcome(stream, cuts, max), outcome(stream, [], max));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects a huge MSG-LEN from its digits alone, before any body byte is buffered', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 65536 });
    // No SP and no body sent: the error must come from the length alone.
    const { frames, error } = decoder.push(Buffer.from('999999999'));
    assert.deepEqual(frames, []);
    assert.ok(error instanceof FrameTooLargeError);
    assert.equal(error.code, 'FRAME_TOO_LARGE');
    assert.equal(error.disposition, 'close');
    assert.equal(error.declaredBytes, 999999999);
  });

  it('rejects MSG-LEN as soon as the digits read so far pass the limit, even across pushes', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 1000 });
    assert.deepEqual(decoder.push(Buffer.from('10')), { frames: [], error: null });
    const { error } = decoder.push(Buffer.from('01'));
    assert.ok(error instanceof FrameTooLargeError);
    assert.equal(error.declaredBytes, 1001);
  });

  it('caps MSG-LEN at 10 digits even with an enormous limit', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: Number.MAX_SAFE_INTEGER });
    assert.ok(decoder.push(Buffer.from('12345678901 ')).error instanceof FrameTooLargeError);
  });

  it('accepts a frame of exactly maxFrameBytes in both framings', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 10 });
    const { frames, error } = decoder.push(Buffer.from('10 0123456789<13>abcdef\n'));
    assert.equal(error, null);
    assert.deepEqual(frames.map(String), ['0123456789', '<13>abcdef']);
  });

  it('fails when a newline frame outgrows maxFrameBytes before its LF', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 10 });
    assert.deepEqual(decoder.push(Buffer.from('<13>abcdef')), { frames: [], error: null });
    const { error } = decoder.push(Buffer.from('g'));
    assert.ok(error instanceof FrameTooLargeError);
    assert.equal(error.declaredBytes, null);
  });

  it('reads digits not followed by SP as the start of a newline frame (no PRI), counts it, and carries on', () => {
    let fallbacks = 0;
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: MAX, onDigitsNotLength: () => fallbacks++ });
    const stream = '2024-01-01 10:00:00 host app: no PRI\n12 <13>octet ok123: Cisco sequence number\n4 <1>x<13>after\n';
    assert.deepEqual(decode(Buffer.from(stream), []), [
      '2024-01-01 10:00:00 host app: no PRI',
      '<13>octet ok',
      '123: Cisco sequence number',
      '<1>x',
      '<13>after',
    ]);
    assert.deepEqual(decoder.push(Buffer.from(stream)).frames.map(String), [
      '2024-01-01 10:00:00 host app: no PRI',
      '<13>octet ok',
      '123: Cisco sequence number',
      '<1>x',
      '<13>after',
    ]);
    assert.equal(fallbacks, 2);
  });

  it('keeps every digit when the fallback comes in a later push, and at the end of the stream', () => {
    const stream = Buffer.from('1000x0 y\n907');
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepEqual(decode(stream, [cut]), ['1000x0 y', '907'], `cut at ${cut}`);
    }
    assert.deepEqual(decode(Buffer.from('42\n'), []), ['42']);
  });

  it('counts the digits of a fallen-back frame against maxFrameBytes', () => {
    assert.deepEqual(decode(Buffer.from('9:3456789\n'), [], 9), ['9:3456789']);
    assert.equal(outcome(Buffer.from('9:34567890\n'), [], 9), 'FRAME_TOO_LARGE');
    assert.equal(outcome(Buffer.from('9:34567890\n'), [1, 5], 9), 'FRAME_TOO_LARGE');
  });

  it('strips trailing CR/LF/NUL, keeps inner LF of octet frames, and skips blank lines', () => {
    // The CR right before `4 <1>f` is left over from the octet frame before it; it must not start a line frame.
    const stream = Buffer.from('<13>a\r\n\r\n\n\n12 <13>b\nline2\n7 <13>c\r\n\n<13>d\r\0\r\n4 <1>e\r\r4 <1>f');
    assert.deepEqual(decode(stream, []), ['<13>a', '<13>b\nline2', '<13>c', '<13>d', '<1>e', '<1>f']);
  });

  it('keeps no reference into a pushed chunk: a frame that continues in the next chunk is copied', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: MAX });
    const first = Buffer.from('<13>one\n<13>tw');
    const { frames } = decoder.push(first);
    const one = Buffer.from(frames[0]!); // what a caller that reuses its read buffer keeps: a copy
    first.fill(0x58); // the caller reuses its read buffer
    const next = decoder.push(Buffer.from('o\n')).frames;
    assert.deepEqual([one, ...next].map(String), ['<13>one', '<13>two']);
  });

  it('returns a frame that lies whole in the chunk as a view of it, not a copy', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: MAX });
    const chunk = Buffer.from('<13>one\n7 <13>two');
    const { frames } = decoder.push(chunk);
    assert.deepEqual(frames.map(String), ['<13>one', '<13>two']);
    for (const frame of frames) assert.equal(frame.buffer, chunk.buffer);
  });

  it('end() returns the unterminated newline frame once, and drops a truncated octet-counted frame', () => {
    const lines = new SyslogFrameDecoder({ maxFrameBytes: MAX });
    assert.deepEqual(lines.push(Buffer.from('<13>done\n<13>partial\r')).frames.map(String), ['<13>done']);
    assert.equal(lines.end()?.toString(), '<13>partial');
    assert.equal(lines.end(), null);

    const octets = new SyslogFrameDecoder({ maxFrameBytes: MAX });
    assert.deepEqual(octets.push(Buffer.from('20 <13>short')), { frames: [], error: null });
    assert.equal(octets.end(), null);
  });

  it('refuses a maxFrameBytes that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new SyslogFrameDecoder({ maxFrameBytes: bad }), RangeError);
    }
  });

  it('trimLineEnd drops only trailing CR, LF and NUL bytes', () => {
    assert.equal(trimLineEnd(Buffer.from('\r\na\0b\r\n\0\r')).toString(), '\r\na\0b');
    assert.equal(trimLineEnd(Buffer.from('\n\r\0')).length, 0);
  });
});

describe('frame decoder errors keep the good frames before them', () => {
  it('hands back the complete frames of the same push with the error, and later pushes only the error', () => {
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 100 });
    const { frames, error } = decoder.push(Buffer.from('<13>1 - - - - - - one\n9 <13>1 two999999999 '));
    assert.ok(error instanceof FrameTooLargeError);
    assert.deepEqual(
      frames.map((f) => f.toString()),
      ['<13>1 - - - - - - one', '<13>1 two'],
    );
    assert.deepEqual(decoder.push(Buffer.from('<13>three\n')), { frames: [], error }, 'a broken stream stays broken');
  });
});
