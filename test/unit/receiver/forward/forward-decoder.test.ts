import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import {
  decodeForwardFrameSync,
  encodeAck,
  type ForwardEvents,
  type ForwardLimits,
} from '../../../../receiver/forward/forward-decoder.js';
import { ForwardError, type ForwardErrorCode } from '../../../../receiver/forward/forward-errors.js';
import { gunzipMembersSync } from '../../../../receiver/forward/forward-gzip.js';
import { MsgpackFrameScanner } from '../../../../receiver/forward/msgpack-scanner.js';

/**
 * Conformance cases written from the Forward Protocol Specification v1 (and v1.5's `[time, metadata]`), as literal
 * bytes: each mode, EventTime in both ext encodings, str and bin chunk ids, gzip with several members, heartbeat,
 * and the refusals. Pure decoder, no socket.
 */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const limits: ForwardLimits = { maxFrameBytes: 1 << 20, maxDecompressedBytes: 1 << 20, maxEvents: 1000, maxDepth: 32 };

function events(frame: Uint8Array, l = limits): ForwardEvents {
  const d = decodeForwardFrameSync(frame, l);
  if (d.kind !== 'events') throw new Error(`expected events, got ${d.kind}`);
  return d;
}
function refuses(code: ForwardErrorCode, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof ForwardError && err.code === code);
}

// 1441588984 = 0x55ece6f8 = 2015-09-07T01:23:04Z
const T = 'ce 55ece6f8';
const REC = '81 a7 6d657373616765 a3 666f6f'; // {"message": "foo"}
const TAG = 'a5 7461672e61'; // "tag.a"

describe('forward decoder: modes, byte for byte', () => {
  it('Message mode with an integer time', () => {
    const m = events(hex(`93 ${TAG} ${T} ${REC}`));
    assert.equal(m.mode, 'message');
    assert.equal(m.tag, 'tag.a');
    assert.deepEqual(m.entries, [
      { time: '2015-09-07T01:23:04.000000000Z', metadata: null, record: { message: 'foo' } },
    ]);
    assert.deepEqual(m.options, { chunk: null, size: null, compressed: null });
  });

  it('Message mode with EventTime as fixext 8 and as ext 8, nanoseconds kept', () => {
    for (const time of ['d7 00 55ece6f8 075bcd15', 'c7 08 00 55ece6f8 075bcd15']) {
      // 123456789 ns
      const m = events(hex(`94 ${TAG} ${time} ${REC} 80`));
      assert.equal(m.entries[0]!.time, '2015-09-07T01:23:04.123456789Z');
    }
  });

  it('Message mode with a float time (rounded to the nanosecond) and with no time', () => {
    assert.equal(
      events(
        hex(
          `93 ${TAG} cb ${Buffer.from(new Float64Array([1441588984.5]).buffer)
            .reverse()
            .toString('hex')} ${REC}`,
        ),
      ).entries[0]!.time,
      '2015-09-07T01:23:04.500000000Z',
    );
    assert.equal(events(hex(`93 ${TAG} c0 ${REC}`)).entries[0]!.time, null, 'nil: the sender gave no time');
    assert.equal(
      events(hex(`93 ${TAG} 00 ${REC}`)).entries[0]!.time,
      null,
      '0: fluentd means "now"; a receipt time differs per copy',
    );
  });

  it('Forward mode with size and a str chunk id', () => {
    const m = events(
      hex(
        `93 ${TAG} 92 92 ${T} ${REC} 92 d7 00 55ece6f9 00000001 81 a1 61 01 82 a4 73697a65 02 a5 6368756e6b a4 61626364`,
      ),
    );
    assert.equal(m.mode, 'forward');
    assert.deepEqual(
      m.entries.map((e) => [e.time, e.record]),
      [
        ['2015-09-07T01:23:04.000000000Z', { message: 'foo' }],
        ['2015-09-07T01:23:05.000000001Z', { a: 1 }],
      ],
    );
    assert.equal(m.options.size, 2);
    assert.deepEqual(Buffer.from(m.options.chunk!), hex('a4 61626364'), 'the chunk value exactly as received');
  });

  it('PackedForward with the entry stream as bin and as str, identically', () => {
    const stream = hex(`92 ${T} ${REC} 92 ${T} 81 a1 62 c3`);
    const asBin = Buffer.concat([hex(`93 ${TAG} c4`), Buffer.from([stream.length]), stream, hex('81 a4 73697a65 02')]);
    const asStr = Buffer.concat([hex(`93 ${TAG} d9`), Buffer.from([stream.length]), stream, hex('81 a4 73697a65 02')]);
    for (const frame of [asBin, asStr]) {
      const m = events(frame);
      assert.equal(m.mode, 'packed_forward');
      assert.deepEqual(
        m.entries.map((e) => e.record),
        [{ message: 'foo' }, { b: true }],
      );
    }
  });

  it('CompressedPackedForward: several gzip members, stored blocks, byte for byte', () => {
    const e1 = hex(`92 ${T} ${REC}`);
    const e2 = hex(`92 d7 00 55ece6f8 000003e8 81 a1 6e 2a`); // 1000 ns, {"n": 42}
    const payload = Buffer.concat([storedGzipMember(e1), storedGzipMember(e2)]);
    const frame = Buffer.concat([
      hex(`93 ${TAG} c4`),
      Buffer.from([payload.length]),
      payload,
      hex('83 a4 73697a65 02 aa 636f6d70726573736564 a4 677a6970 a5 6368756e6b c4 02 0102'),
    ]);
    const m = events(frame);
    assert.equal(m.mode, 'compressed_packed_forward');
    assert.deepEqual(
      m.entries.map((e) => [e.time, e.record]),
      [
        ['2015-09-07T01:23:04.000000000Z', { message: 'foo' }],
        ['2015-09-07T01:23:04.000001000Z', { n: 42 }],
      ],
    );
    assert.deepEqual(Buffer.from(m.options.chunk!), hex('c4 02 0102'), 'a bin chunk id stays bin');
  });

  it('CompressedPackedForward from zlib, one member per entry and one for all', () => {
    const entries = [encode([1441588984, { i: 1 }]), encode([1441588985, { i: 2 }])];
    for (const payload of [Buffer.concat(entries.map((e) => gzipSync(e))), gzipSync(Buffer.concat(entries))]) {
      const m = events(encode(['tag.z', payload, { compressed: 'gzip', size: 2 }]));
      assert.deepEqual(
        m.entries.map((e) => e.record),
        [{ i: 1 }, { i: 2 }],
      );
    }
  });

  it('v1.5: [time, metadata] in Message, Forward and PackedForward entries', () => {
    const meta = '81 a1 6b a1 76'; // {"k": "v"}
    const m = events(hex(`93 ${TAG} 92 ${T} ${meta} ${REC}`));
    assert.equal(m.mode, 'message');
    assert.deepEqual(m.entries[0], {
      time: '2015-09-07T01:23:04.000000000Z',
      metadata: { k: 'v' },
      record: { message: 'foo' },
    });
    const f = events(hex(`92 ${TAG} 91 92 92 d7 00 55ece6f8 00000005 ${meta} ${REC}`));
    assert.equal(f.mode, 'forward');
    assert.deepEqual(f.entries[0]!.metadata, { k: 'v' });
    assert.equal(f.entries[0]!.time, '2015-09-07T01:23:04.000000005Z');
    const stream = hex(`92 92 ${T} ${meta} ${REC}`);
    const p = events(Buffer.concat([hex(`92 ${TAG} c4`), Buffer.from([stream.length]), stream]));
    assert.deepEqual(p.entries[0]!.metadata, { k: 'v' });
  });

  it('a msgpack nil is a heartbeat', () => {
    assert.deepEqual(decodeForwardFrameSync(hex('c0'), limits), { kind: 'heartbeat' });
  });

  it('skips an entry whose record is nil (as in_forward does) and counts it', () => {
    const m = events(hex(`92 ${TAG} 92 92 ${T} c0 92 ${T} ${REC}`));
    assert.equal(m.skipped, 1);
    assert.equal(m.entries.length, 1);
  });

  it('accepts fluent-logger 3\'s options: size as bytes, compressed "text"', () => {
    const stream = encode([1441588984, { a: 1 }]);
    const m = events(
      encode(['t', stream, { chunk: 'x', size: stream.length, compressed: 'text', eventEntryDataSize: stream.length }]),
    );
    assert.equal(m.mode, 'packed_forward');
    assert.equal(m.entries.length, 1);
  });
});

describe('forward decoder: acks', () => {
  it('echoes a str chunk id as str and a bin chunk id as bin, byte for byte', () => {
    assert.deepEqual(encodeAck(hex('a4 61626364')), hex('81 a3 61636b a4 61626364'));
    assert.deepEqual(encodeAck(hex('c4 04 61626364')), hex('81 a3 61636b c4 04 61626364'));
  });

  it('echoes a chunk id that is not valid UTF-8 unchanged', () => {
    const m = events(hex(`94 ${TAG} ${T} ${REC} 81 a5 6368756e6b a2 fffe`));
    assert.deepEqual(encodeAck(m.options.chunk!), hex('81 a3 61636b a2 fffe'));
  });
});

describe('forward decoder: refusals', () => {
  const scan = (bytes: Buffer, max = 1 << 20) => {
    const { frames, error } = new MsgpackFrameScanner({ maxFrameBytes: max, maxDepth: 32 }).push(bytes);
    if (error) throw error;
    return frames;
  };

  it('refuses a str32 declaring 4 GB at its header, without waiting for or allocating it', () => {
    refuses('FRAME_TOO_LARGE', () => scan(hex('93 a1 74 ce 55ece6f8 db ffffffff')));
    refuses('FRAME_TOO_LARGE', () => scan(hex('dd ffffffff'))); // an array declaring 4 billion items
    refuses('FRAME_TOO_LARGE', () => scan(Buffer.concat([hex('c6 00000100'), Buffer.alloc(10)]), 200));
  });

  it('hands out the frames before a break, then the error; nothing after', () => {
    const scanner = new MsgpackFrameScanner({ maxFrameBytes: 1 << 20, maxDepth: 32 });
    const { frames, error } = scanner.push(hex('c0 c0 c1 c0'));
    assert.equal(frames.length, 2);
    assert.equal(error?.code, 'MSGPACK_INVALID');
    assert.equal(scanner.push(hex('c0')).frames.length, 0, 'a broken stream stays broken');
  });

  it('refuses bytes that are not msgpack, too deep a nesting, and JSON', () => {
    refuses('MSGPACK_INVALID', () => scan(hex('c1')));
    refuses('MSGPACK_TOO_DEEP', () => scan(Buffer.alloc(40, 0x91)));
    refuses('JSON_UNSUPPORTED', () => decodeForwardFrameSync(Buffer.from('['), limits));
  });

  it('refuses malformed messages with a reason', () => {
    refuses('BAD_MESSAGE', () => decodeForwardFrameSync(hex('81 a1 61 01'), limits)); // a map
    refuses('BAD_MESSAGE', () => decodeForwardFrameSync(hex(`93 01 ${T} ${REC}`), limits)); // tag not a string
    refuses('BAD_MESSAGE', () => decodeForwardFrameSync(hex(`93 ${TAG} ${T} a1 78`), limits)); // record not a map
    refuses('BAD_MESSAGE', () => decodeForwardFrameSync(hex(`92 ${TAG} 91 91 01`), limits)); // entry not [time, record]
    refuses('BAD_MESSAGE', () => decodeForwardFrameSync(encode(['t', [], { fluent_signal: 1 }]), limits)); // metrics
    refuses('BAD_TIME', () => decodeForwardFrameSync(hex(`93 ${TAG} d6 00 55ece6f8 ${REC}`), limits)); // EventTime of 4 bytes
    refuses('BAD_TIME', () => decodeForwardFrameSync(hex(`93 ${TAG} d7 00 55ece6f8 3b9aca00 ${REC}`), limits)); // 1e9 ns
    refuses('BAD_TIME', () => decodeForwardFrameSync(hex(`93 ${TAG} c3 ${REC}`), limits)); // true
    refuses('BAD_OPTION', () => decodeForwardFrameSync(hex(`94 ${TAG} ${T} ${REC} 01`), limits));
    refuses('BAD_OPTION', () => decodeForwardFrameSync(hex(`94 ${TAG} ${T} ${REC} 81 a5 6368756e6b 01`), limits)); // chunk 1
    refuses('UNSUPPORTED_COMPRESSION', () =>
      decodeForwardFrameSync(encode(['t', Buffer.alloc(4), { compressed: 'zstd' }]), limits),
    );
  });

  it('refuses a truncated entry stream, and entries past the event bound', () => {
    const stream = hex(`92 ${T} ${REC} 92 ${T}`);
    refuses('MSGPACK_TRUNCATED', () => decodeForwardFrameSync(encode(['t', stream]), limits));
    const many = encode(['t', Array.from({ length: 11 }, () => [1, { a: 1 }])]);
    refuses('TOO_MANY_EVENTS', () => decodeForwardFrameSync(many, { ...limits, maxEvents: 10 }));
    const packed = encode(['t', Buffer.concat(Array.from({ length: 11 }, () => encode([1, { a: 1 }])))]);
    refuses('TOO_MANY_EVENTS', () => decodeForwardFrameSync(packed, { ...limits, maxEvents: 10 }));
  });

  it('refuses gzip that is not gzip, is cut short, or inflates past the bound (a zip bomb)', () => {
    refuses('GZIP_INVALID', () =>
      decodeForwardFrameSync(encode(['t', Buffer.from('not gzip at all, really'), { compressed: 'gzip' }]), limits),
    );
    const cut = gzipSync(encode([1, { a: 1 }]));
    refuses('GZIP_INVALID', () =>
      decodeForwardFrameSync(encode(['t', cut.subarray(0, cut.length - 4), { compressed: 'gzip' }]), limits),
    );
    const bomb = gzipSync(Buffer.alloc(4 << 20));
    assert.ok(bomb.length < 10_000);
    refuses('DECOMPRESSED_TOO_LARGE', () => gunzipMembersSync(bomb, 1 << 20));
  });
});

/** One gzip member with a single stored (uncompressed) deflate block: every byte is fixed by RFC 1952/1951. */
function storedGzipMember(data: Buffer): Buffer {
  const header = hex('1f8b 08 00 00000000 00 ff');
  const len = Buffer.alloc(5);
  len[0] = 0x01; // BFINAL, BTYPE 00 (stored)
  len.writeUInt16LE(data.length, 1);
  len.writeUInt16LE(~data.length & 0xffff, 3);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, len, data, trailer]);
}
