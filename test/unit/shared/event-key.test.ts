import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EVENT_KEY_BYTES, eventId, structuredEventKey, syslogEventKey } from '../../../shared/event-key.js';

// Keys live in Redis for the dedup window across upgrades: a receiver of a new version must key an event exactly as
// the old one did, or copies split across the two versions during a rolling upgrade would both count as unique.
describe('event keys', () => {
  const frame = Buffer.from('<134>1 2026-11-23T05:17:24Z host app 42 ID47 - hello wörld');
  // Syslog keys are plain Uint8Array views (no Buffer per event): compare them as such.
  const reference = (prefix: string) =>
    new Uint8Array(createHash('sha256').update(prefix).update(frame).digest().subarray(0, EVENT_KEY_BYTES));

  it('is SHA-256 over "syslog\\0<source>\\0" and the frame bytes, truncated to 128 bits', () => {
    assert.deepEqual(syslogEventKey('192.0.2.7', frame), reference('syslog\x00192.0.2.7\0'));
    assert.deepEqual(syslogEventKey('2001:db8::1', frame), reference('syslog\u00002001:db8::1\0'));
    assert.deepEqual(syslogEventKey(null, frame), reference('syslog\0\0'));
    assert.equal(syslogEventKey(null, frame).length, 16);
  });

  it('differs by sender and by any byte of the frame, and keys a frame that is a view into a larger buffer by its bytes', () => {
    assert.notDeepEqual(syslogEventKey('192.0.2.7', frame), syslogEventKey('192.0.2.8', frame));
    const other = Buffer.from(frame);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 1, other.length - 1);
    assert.notDeepEqual(syslogEventKey(null, frame), syslogEventKey(null, other));
    const inBigger = Buffer.concat([Buffer.from('xx'), frame, Buffer.from('yy')]).subarray(2, 2 + frame.length);
    assert.deepEqual(syslogEventKey(null, inBigger), syslogEventKey(null, frame));
  });

  it('keys alternating senders, a frame larger than the scratch buffer, and keeps each returned key intact', () => {
    const big = Buffer.alloc(100_000, 0x61);
    const refBig = new Uint8Array(
      createHash('sha256').update('syslog\x00192.0.2.7\0').update(big).digest().subarray(0, EVENT_KEY_BYTES),
    );
    const first = syslogEventKey('192.0.2.7', frame);
    const firstCopy = new Uint8Array(first);
    assert.deepEqual(syslogEventKey(null, frame), reference('syslog\0\0'));
    assert.deepEqual(syslogEventKey('192.0.2.7', big), refBig);
    assert.deepEqual(syslogEventKey('192.0.2.8', frame), reference('syslog\x00192.0.2.8\0'));
    assert.deepEqual(syslogEventKey('192.0.2.7', frame), firstCopy);
    assert.deepEqual(first, firstCopy, 'a key handed out earlier is not overwritten by later ones');
  });

  it('is SHA-256 over "structured\\0" and the canonical content for a structured event, truncated to 128 bits', () => {
    const content = Buffer.from([0x93, 0xa3, 0x61, 0x70, 0x70, 0x01, 0x80]);
    const want = createHash('sha256').update('structured\0').update(content).digest().subarray(0, EVENT_KEY_BYTES);
    assert.deepEqual(structuredEventKey(content), want);
    const big = Buffer.alloc(70_000, 0x62);
    const wantBig = createHash('sha256').update('structured\0').update(big).digest().subarray(0, EVENT_KEY_BYTES);
    assert.deepEqual(structuredEventKey(big), wantBig);
  });

  it('keeps every key it handed out intact across many keys (past any block of keys)', () => {
    const kept: { key: Uint8Array; copy: Uint8Array; n: number }[] = [];
    for (let n = 0; n < 10_000; n++) {
      const key = syslogEventKey(null, Buffer.from(`line ${n}`));
      if (n % 997 === 0) kept.push({ key, copy: new Uint8Array(key), n });
    }
    for (const { key, copy, n } of kept) {
      assert.deepEqual(key, copy, `key ${n} unchanged`);
      const line = Buffer.from(`line ${n}`);
      const want = createHash('sha256').update('syslog\0\0').update(line).digest().subarray(0, 16);
      assert.deepEqual(key, new Uint8Array(want));
    }
  });

  it('keys syslog and structured events in any interleaving (the scratch buffer keeps one prefix at a time)', () => {
    const content = Buffer.from([0x93, 0xa3, 0x61, 0x70, 0x70, 0x01, 0x80]);
    const wantStructured = createHash('sha256').update('structured\0').update(content).digest().subarray(0, 16);
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(syslogEventKey('192.0.2.7', frame), reference('syslog\x00192.0.2.7\0'));
      assert.deepEqual(structuredEventKey(content), wantStructured);
      assert.deepEqual(syslogEventKey('192.0.2.7', frame), reference('syslog\x00192.0.2.7\0'));
      assert.deepEqual(syslogEventKey(null, frame), reference('syslog\0\0'));
    }
  });

  it('names an event by key and occurrence', () => {
    assert.equal(eventId(Buffer.alloc(16, 0xab), 3), `${'ab'.repeat(16)}-3`);
  });
});
