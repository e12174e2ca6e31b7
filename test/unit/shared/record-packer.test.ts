import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode } from '@msgpack/msgpack';
import { decodeBody } from '../../../shared/batch-codec.js';
import {
  beginTuple,
  endTuple,
  packedValues,
  packRecord,
  packTuple,
  tupleRun,
  tupleValue,
} from '../../../shared/record-packer.js';

// Any msgpack reader must read what packRecord writes: check with the library's plain decoder, not only decodeBody.
const readers = {
  '@msgpack/msgpack': (b: Uint8Array) => decode(b),
  decodeBody: (b: Uint8Array) => decodeBody(b),
};

describe('record packer (hand-written msgpack for flat records)', () => {
  it('writes every string length class with the right header, ASCII and not', () => {
    for (const length of [0, 1, 31, 32, 255, 256, 2047, 2048, 2049, 65535, 65536, 70000]) {
      for (const unit of ['a', 'é', '€', '😀']) {
        const value = unit.repeat(Math.ceil(length / unit.length)); // whole code points: no lone surrogate
        const record = { s: value };
        for (const [name, read] of Object.entries(readers))
          assert.deepEqual(read(packRecord(record)), record, `${name}, ${length} × ${unit}`);
      }
    }
  });

  it('writes nil, booleans, integers at every width boundary, floats, negatives, nested maps, arrays and binary', () => {
    const record = {
      nil: null,
      undef: undefined,
      t: true,
      f: false,
      ints: 0,
      i127: 127,
      i128: 128,
      i255: 255,
      i256: 256,
      i65535: 65535,
      i65536: 65536,
      i32: 0xffffffff,
      i33: 0x100000000,
      ms: 1795411541557,
      max: Number.MAX_SAFE_INTEGER,
      neg: -1,
      neg2: -70000,
      float: 1.5,
      nan: Number.NaN,
      sd: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application' } },
      list: [1, 'two', null],
      bin: Buffer.from([1, 2, 3]),
    };
    const decoded = decodeBody(packRecord(record)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoded), Object.keys(record), 'keys in insertion order');
    assert.equal(decoded.undef, null, 'undefined is written as nil');
    for (const k of Object.keys(record) as (keyof typeof record)[]) {
      if (k === 'undef' || k === 'nan' || k === 'bin') continue;
      assert.deepEqual(decoded[k], record[k], k);
    }
    assert.ok(Number.isNaN(decoded.nan));
    assert.deepEqual(Buffer.from(decoded.bin as Uint8Array), record.bin);
  });

  it('writes maps of 0, 15, 16 and 70,000 keys', () => {
    for (const n of [0, 15, 16, 70_000]) {
      const record = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
      assert.deepEqual(decodeBody(packRecord(record)), record, `${n} keys`);
    }
  });

  it('keeps every earlier result intact across block boundaries and records larger than a block', () => {
    const kept: { record: Record<string, unknown>; bytes: Uint8Array }[] = [];
    for (let i = 0; i < 3000; i++) {
      const record = { i, message: `line ${i} `.repeat(i % 97), big: i % 1000 === 999 ? 'x'.repeat(400_000) : null };
      kept.push({ record, bytes: packRecord(record) });
    }
    for (const { record, bytes } of kept) assert.deepEqual(decodeBody(bytes), record);
  });

  it('round-trips arbitrary flat records of strings (any Unicode), integers, booleans and null', () => {
    const value = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.maxSafeNat(),
      fc.boolean(),
      fc.constant(null),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 20 }), value, { maxKeys: 20 }), (record) => {
        // Object.keys order is the map order; __proto__ as a key is not a flat record's field
        if (Object.keys(record).includes('__proto__')) return;
        for (const read of Object.values(readers)) {
          const decoded = read(packRecord(record)) as Record<string, unknown>;
          assert.deepEqual(Object.keys(decoded), Object.keys(record));
          for (const k of Object.keys(record))
            assert.ok(
              Object.is(Number(decoded[k]), Number(record[k])) ||
                decoded[k] === record[k] ||
                Object.is(decoded[k], record[k]),
              k,
            );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('writes a tuple piece by piece (values and packed runs) as the same bytes packTuple writes', () => {
    const values: unknown[] = [1, 'syslog.local0.info', '2026-12-07T12:00:00.000Z', 1_795_411_541_557, 'a', null];
    const tail: unknown[] = ['é'.repeat(40), 'x'.repeat(300), { sd: { k: 'v' } }, Buffer.from([1, 2, 3]), true, -1];
    for (const extra of [0, 10, 70_000]) {
      const all = [...values, ...tail, ...Array.from({ length: extra }, (_, i) => i)];
      const want = Buffer.from(packTuple(all));
      const run = packedValues(values); // made before the tuple begins: making a run packs too
      beginTuple(all.length);
      tupleRun(run);
      for (const v of all.slice(values.length)) tupleValue(v);
      assert.deepEqual(Buffer.from(endTuple()), want, `${all.length} values`);
    }
  });

  it('packs runs of up to 15 values without the array header, and refuses more', () => {
    assert.deepEqual(Buffer.from(packedValues(['ab', null, 5])), Buffer.from([0xa2, 0x61, 0x62, 0xc0, 0x05]));
    assert.deepEqual(packedValues([]), new Uint8Array(0));
    assert.throws(() => packedValues(Array.from({ length: 16 }, () => 0)), RangeError);
  });

  it('keeps every earlier tuple intact when a tuple crosses into a new block', () => {
    const kept: { values: unknown[]; bytes: Uint8Array }[] = [];
    const run = packedValues(['run', 7]);
    for (let i = 0; i < 3000; i++) {
      const message = `line ${i} `.repeat(i % 113);
      beginTuple(4);
      tupleRun(run);
      tupleValue(i);
      tupleValue(message);
      kept.push({ values: ['run', 7, i, message], bytes: endTuple() });
    }
    for (const { values, bytes } of kept) assert.deepEqual(decode(bytes), values);
  });
});
