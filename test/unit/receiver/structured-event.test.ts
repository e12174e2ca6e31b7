import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { binaryAsText, encodeStructuredEvent, type StructuredContext } from '../../../receiver/structured-event.js';

const forward: StructuredContext = { receiverId: 'a', source: '192.0.2.1', transport: 'forward', format: 'forward' };
const http: StructuredContext = {
  receiverId: 'a',
  source: '192.0.2.1',
  transport: 'http',
  format: 'http',
  receiptTimeWhenNone: true,
};
const now = new Date('2026-12-07T10:00:00.123Z');
const envelopeOf = (e: { body: Uint8Array }) => decodeBody(e.body) as EventEnvelope;

describe('structured events (Forward, HTTP)', () => {
  it('bin values travel as UTF-8 strings, at any depth; the key is made from the record as received', () => {
    const record = { message: 'm', raw: Buffer.from('héllo'), deep: { list: [Buffer.from([0x61, 0xff]), 1, null] } };
    const e = encodeStructuredEvent('app', null, record, forward, now);
    assert.deepEqual(envelopeOf(e).record, { message: 'm', raw: 'héllo', deep: { list: ['a\ufffd', 1, null] } });
    const asText = encodeStructuredEvent(
      'app',
      null,
      { message: 'm', raw: 'héllo', deep: { list: ['a\ufffd', 1, null] } },
      forward,
      now,
    );
    assert.notDeepEqual(e.key, asText.key, 'bin and str stay different identities (the key is not rewritten)');
  });

  it('a record without binary values is returned as it is, not copied', () => {
    const record = { a: 1, b: { c: ['x'] } };
    assert.equal(binaryAsText(record), record);
  });

  it('a "__proto__" key next to a binary value stays a key of the copy, not its prototype', () => {
    const record = JSON.parse('{"__proto__":{"polluted":true},"bin":null}') as Record<string, unknown>;
    record.bin = Buffer.from('x');
    const copy = binaryAsText(record);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.keys(copy), ['__proto__', 'bin']);
    assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  });

  it('HTTP: without a sender time the envelope carries the receipt time, the key does not', () => {
    const record = { message: 'no time' };
    const withReceipt = encodeStructuredEvent('app', null, record, http, now);
    const later = encodeStructuredEvent('app', null, record, http, new Date(now.getTime() + 5000));
    assert.equal(envelopeOf(withReceipt).time, '2026-12-07T10:00:00.123Z');
    assert.deepEqual(withReceipt.key, later.key, 'two receivers receive at different instants; their keys match');
    assert.equal(envelopeOf(encodeStructuredEvent('app', null, record, forward, now)).time, null, 'Forward keeps null');
    assert.equal(
      envelopeOf(encodeStructuredEvent('app', '2023-11-14T22:13:20.500Z', record, http, now)).time,
      '2023-11-14T22:13:20.500Z',
    );
  });
});
