import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { encodeSyslogFrame } from '../../../receiver/syslog-event.js';
import { encodeBody } from '../../../shared/batch-codec.js';
import { decodeEvent } from '../../../uploader/decoded-events.js';
import { formatEventLine } from '../../../uploader/ndjson/ndjson-line.js';
import { transcodeEventLine } from '../../../uploader/ndjson/ndjson-transcoder.js';
import { forwardEvent, syslogEvent } from '../../../testkit/sink-fixtures.js';
import { entryBytes, loadCorpus } from '../../../testkit/syslog-corpus.js';

/** What the general path writes for a body: the line, or null when the body is rejected. */
function generalLine(id: string, body: Uint8Array): string | null {
  const d = decodeEvent(id, body);
  return 'envelope' in d ? formatEventLine(id, d.envelope) : null;
}

/** True when the body was transcoded (and then to the general path's line, byte for byte). */
function assertSameAsGeneral(id: string, body: Uint8Array): boolean {
  const fast = transcodeEventLine(id, body);
  if (fast === null) return false;
  assert.equal(fast.line.toString('utf8'), generalLine(id, body), "byte for byte the general path's line");
  return true;
}

/** A msgpack map of these pairs as they are, repeats included (a JS object cannot hold a key twice). */
function mapBytes(pairs: [string, unknown][]): Buffer {
  const header = Buffer.from([0xde, pairs.length >> 8, pairs.length & 0xff]);
  return Buffer.concat([header, ...pairs.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

describe('NDJSON transcoder (msgpack envelope straight to its line)', () => {
  it("writes exactly the general path's line for every corpus line's envelope, and takes them all", () => {
    const ctx = { receiverId: 'a', source: '192.0.2.1', transport: 'tcp', hashSourceAddress: true } as const;
    for (const entry of loadCorpus()) {
      const body = encodeSyslogFrame(entryBytes(entry), ctx, new Date(1_795_411_541_557)).body;
      const fast = transcodeEventLine('0123abcd-1', body);
      assert.ok(fast, `transcoded: ${entryBytes(entry).toString()}`);
      assert.equal(fast.receivedAt, 1_795_411_541_557);
      assert.equal(fast.line.toString('utf8'), generalLine('0123abcd-1', body));
    }
  });

  it('writes the same line for Forward records with nested maps, arrays, numbers, booleans and escapes', () => {
    const record = {
      msg: 'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f é 😀',
      n: -5,
      f: 0.1,
      big: 2 ** 40,
      t: true,
      nil: null,
      list: [1, 'a', { deep: [null] }],
      nested: { x: { y: 'z' } },
    };
    for (const envelope of [
      forwardEvent(1, 1_795_411_541_557, record),
      syslogEvent(2, 1_795_411_541_557, { structured_data: { 'a@1': { k: ['v1', 'v2'] } } }),
    ]) {
      const body = encodeBody(envelope);
      assert.ok(transcodeEventLine('id-1', body), 'transcoded');
      assertSameAsGeneral('id-1', body);
    }
  });

  it('writes the same line for long strings whose escape or non-ASCII byte comes after a long plain run', () => {
    const plain = 'x'.repeat(100);
    for (const tail of ['', '"', '\\', '\n', '\u0001', 'é', '😀', '\u007f']) {
      for (const message of [plain + tail, tail + plain, plain + tail + plain]) {
        assert.ok(assertSameAsGeneral(`id-${plain}`, encodeBody(syslogEvent(1, 1000, { message }))), message);
      }
    }
  });

  it('writes each event its own receipt time when consecutive bodies share it or not', () => {
    for (const receivedAt of [1000, 1000, 2000, 1000, 1_795_411_541_557, 1_795_411_541_557, 0, -1]) {
      const fast = transcodeEventLine('id-1', encodeBody(syslogEvent(1, receivedAt)));
      assert.equal(fast?.receivedAt, receivedAt);
      assert.equal(fast?.line.toString(), generalLine('id-1', encodeBody(syslogEvent(1, receivedAt))));
    }
  });

  it('reads every msgpack number width as the general path does', () => {
    const record = { i64: -(2 ** 40), u64: 2 ** 53 - 1, f64: 1.5, small: -3, u32: 2 ** 31 };
    assert.ok(assertSameAsGeneral('id-1', encodeBody(forwardEvent(1, 1000, record))));
    // A float32, as other encoders write one (this one never does): 0xca and four bytes.
    const pairs = Object.entries(forwardEvent(1, 1000)).map(([k, v]) => Buffer.concat([encode(k), encode(v)]));
    const float32 = Buffer.from([0xca, 0x3f, 0xc0, 0x00, 0x00]);
    const body = Buffer.concat([Buffer.from([0xde, 0, pairs.length + 1]), ...pairs, encode('f32'), float32]);
    assert.ok(assertSameAsGeneral('id-1', body));
  });

  it('leaves every other shape to the general path (null), never throws, and then writes nothing', () => {
    const ok = syslogEvent(1, 1000);
    const { tag, time, ...others } = ok;
    const reordered = { time, tag, ...others };
    const cases: [string, Uint8Array][] = [
      ['not a map', encode(['x'])],
      ['another key order', encode(reordered)],
      ['binary value', encode({ ...ok, record: new Uint8Array([1]) })],
      ['tag not a string', encode({ ...ok, tag: 5 })],
      ['received_at not a number', encode({ ...ok, received_at: 'x' })],
      ['received_at beyond a Date', encode({ ...ok, received_at: 9e15 })],
      ['trailing bytes', Buffer.concat([encode(ok), Buffer.from([0xc0])])],
      ['integer-like nested key', encode({ ...ok, structured_data: { 'a@1': { 7: 'x' } } })],
      ['few keys', encode({ tag: 't' })],
      ['compact, unknown schema', encode([9, 't', null, 1000, 'a', null, 'tcp', 'raw', 'm', 'E'])],
      ['compact, wrong arity', encode([2, 't', null, 1000, 'a', null, 'tcp', 'raw', 'm'])],
      ['compact, tag not a string', encode([2, 7, null, 1000, 'a', null, 'tcp', 'raw', 'm', 'E'])],
      ['a field named id', encode({ ...ok, id: 'forged' })],
      ['a leading key repeated', mapBytes([...Object.entries(ok), ['message', 'again']])],
    ];
    for (const [name, body] of cases) assert.equal(transcodeEventLine('id', body), null, name);
    const full = encodeBody(ok);
    for (let cut = 0; cut < full.length; cut++)
      assert.equal(transcodeEventLine('id', full.subarray(0, cut)), null, `truncated at ${cut}`);
    const after = transcodeEventLine('id', full);
    assert.equal(
      after?.line.toString(),
      generalLine('id', full),
      'a failed transcode leaves no bytes in the next line',
    );
  });

  it('never lets a field of the body replace the event id: such a body is rejected with the reason', () => {
    const body = encodeBody({ ...syslogEvent(1, 1000), id: 'forged' });
    assert.equal(transcodeEventLine('real-1', body), null);
    const decoded = decodeEvent('real-1', body);
    assert.ok(!('envelope' in decoded));
    assert.equal(decoded.reason, 'the envelope has a field named id, which would hide the event id');
    assert.equal(decoded.id, 'real-1');
  });

  it('agrees with the general path on arbitrary envelopes', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
    );
    const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(text, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    const envelope = fc.record({
      tag: text,
      time: fc.option(text),
      received_at: fc.integer({ min: 0, max: 2 ** 45 }),
      receiver: text,
      source: fc.option(text),
      transport: text,
      format: text,
      message: fc.option(text),
    });
    let transcoded = 0;
    const runs = 3000;
    fc.assert(
      fc.property(envelope, fc.dictionary(text, value, { maxKeys: 5 }), text, (head, rest, id) => {
        const body = encodeBody({ ...head, ...Object.fromEntries(Object.entries(rest).filter(([k]) => !(k in head))) });
        if (assertSameAsGeneral(id, body)) transcoded++;
      }),
      { numRuns: runs },
    );
    assert.ok(transcoded > runs * 0.8, `most generated envelopes take the fast path (${transcoded} of ${runs})`);
  });
});
