import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { encodeSyslogFrame, syslogEnvelope } from '../../../receiver/syslog-event.js';
import { decodeBody } from '../../../shared/batch-codec.js';
import {
  COMPACT_BODY_FIELDS,
  CompactBodyError,
  expandCompactBody,
  PARSED_SYSLOG_SCHEMA,
  RAW_SYSLOG_SCHEMA,
} from '../../../shared/compact-body.js';
import { decodeEvent } from '../../../uploader/decoded-events.js';
import { entryBytes, loadCorpus } from '../../../testkit/syslog-corpus.js';

const ctx = { receiverId: 'a', source: '192.0.2.1', transport: 'tcp', hashSourceAddress: true } as const;
const now = new Date(1_795_411_541_557);

describe('compact syslog bodies', () => {
  it('decode to the envelope the map form held: same keys, same order, same values, for every corpus line', () => {
    for (const entry of loadCorpus()) {
      const frame = entryBytes(entry);
      const { body } = encodeSyslogFrame(frame, ctx, now);
      assert.ok((body[0]! >= 0x90 && body[0]! <= 0x9f) || body[0] === 0xdc, 'a msgpack array');
      const decoded = decodeBody(body) as Record<string, unknown>;
      const expected = syslogEnvelope(frame, ctx, now) as unknown as Record<string, unknown>;
      assert.deepEqual(Object.keys(decoded), Object.keys(expected));
      assert.deepEqual(decoded, JSON.parse(JSON.stringify(expected)));
      const schema = decoded.format === 'raw' ? RAW_SYSLOG_SCHEMA : PARSED_SYSLOG_SCHEMA;
      assert.deepEqual(Object.keys(decoded), COMPACT_BODY_FIELDS[schema]);
    }
  });

  it('keeps the map form readable (earlier bodies in queues and spools)', () => {
    const envelope = {
      tag: 'syslog.user.notice',
      time: null,
      received_at: 1,
      receiver: 'a',
      source: null,
      transport: 'udp',
      format: 'raw',
      message: 'x',
      parse_error: 'E',
    };
    assert.deepEqual(decodeBody(encode(envelope)), envelope);
  });

  it('rejects an unknown schema or arity with the reason, and the sinks keep such a body as rejected', () => {
    assert.throws(() => expandCompactBody([99, 'x']), CompactBodyError);
    assert.throws(() => expandCompactBody([PARSED_SYSLOG_SCHEMA, 'too few']), /has 15 fields, got 1/);
    assert.throws(() => expandCompactBody(['1']), /unknown compact body schema/);
    const rejected = decodeEvent('id-1', encode([42, 'a']));
    assert.ok(
      'reason' in rejected && /unknown compact body schema 42/.test(rejected.reason),
      'rejected with the reason',
    );
  });
});
