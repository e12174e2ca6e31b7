import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { decodeBody, encodeBody } from '../../../../shared/batch-codec.js';
import { compactRawFrame } from '../../../../shared/compact-body.js';
import type { EventEnvelope } from '../../../../shared/envelope.js';
import { encodeSyslogFrame } from '../../../../receiver/syslog-event.js';
import { decodeSyslogSinkEvents } from '../../../../uploader/syslog-sink/syslog-events.js';
import { frame, splitsWithoutOctetCounting } from '../../../../uploader/syslog-sink/syslog-framing.js';
import {
  escapeParamValue,
  eventPayload,
  headerField,
  idElement,
  insertIdElement,
  leadingPri,
  locateStructuredData,
  renderRfc5424,
  type PayloadOptions,
} from '../../../../uploader/syslog-sink/syslog-payload.js';
import { forwardEvent } from '../../../../testkit/sink-fixtures.js';
import { syslogLineBatch } from '../../../support/syslog-sink-fixtures.js';

const opts: PayloadOptions = { idSdId: 'fanin@32473', rfc3164Id: 'verbatim', appName: 'fanin', pri: 13 };
const b = (s: string) => Buffer.from(s, 'utf8');
/** Each line through a real receiver encoding (raw kept) and the sink's decoding, to its payload. */
function payloadsOf(lines: Buffer[], o: PayloadOptions = opts, keepRaw = true) {
  const { events, rejected } = decodeSyslogSinkEvents([syslogLineBatch('ev', lines, keepRaw)]);
  assert.equal(rejected.length, 0);
  return events.map((e) => eventPayload(e.id, e.envelope, e.raw, o));
}

describe('syslog sink: framing (RFC 6587)', () => {
  it('octet counting prefixes the byte length, not the character count', () => {
    assert.equal(
      Buffer.concat(frame(b('<13>1 - - - - - - abc'), 'octet-counting')).toString(),
      '21 <13>1 - - - - - - abc',
    );
    const utf8 = b('<13>1 - - - - - - é€');
    assert.equal(utf8.length, 23);
    assert.deepEqual(Buffer.concat(frame(utf8, 'octet-counting')), Buffer.concat([b('23 '), utf8]));
  });

  it('octet counting carries an LF inside a message; non-transparent framing ends it with LF and says it would split', () => {
    const msg = b('<13>1 - - - - - - two\nlines');
    assert.deepEqual(Buffer.concat(frame(msg, 'octet-counting')), Buffer.concat([b(`${msg.length} `), msg]));
    assert.deepEqual(Buffer.concat(frame(b('<13>x'), 'non-transparent')), b('<13>x\n'));
    assert.equal(splitsWithoutOctetCounting(msg), true);
    assert.equal(splitsWithoutOctetCounting(b('<13>x')), false);
  });
});

describe('syslog sink: the id element in RFC 5424 lines', () => {
  const element = idElement('fanin@32473', 'abc-1');

  it('replaces a NILVALUE STRUCTURED-DATA, with or without a MSG after it', () => {
    assert.equal(
      insertIdElement(
        b('<34>1 2003-10-11T22:14:15.003Z host su - ID47 - hello'),
        element,
        'fanin@32473',
      )?.bytes.toString(),
      '<34>1 2003-10-11T22:14:15.003Z host su - ID47 [fanin@32473 id="abc-1"] hello',
    );
    assert.equal(
      insertIdElement(b('<34>1 - - - - - -'), element, 'fanin@32473')?.bytes.toString(),
      '<34>1 - - - - - [fanin@32473 id="abc-1"]',
    );
  });

  it('follows the line\'s own elements, which stay first and unchanged (escaped ] and " inside values included)', () => {
    const line =
      '<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" note="a \\"q\\" and \\] x"][b@1 k="v"] An event';
    const sd = locateStructuredData(b(line));
    assert.deepEqual(sd?.ids, ['exampleSDID@32473', 'b@1']);
    assert.equal(
      insertIdElement(b(line), element, 'fanin@32473')?.bytes.toString(),
      line.replace('[b@1 k="v"] ', '[b@1 k="v"][fanin@32473 id="abc-1"] '),
    );
  });

  it('leaves a line that already holds the SD-ID as it is (an SD-ID may appear once)', () => {
    const line = b('<13>1 - h a - - [fanin@32473 id="upstream-7"] m');
    const out = insertIdElement(line, element, 'fanin@32473');
    assert.equal(out?.kind, 'id_present');
    assert.deepEqual(out?.bytes, line);
  });

  it('refuses what is not RFC 5424 in shape', () => {
    for (const s of [
      '<13>Oct 11 22:14:15 host app: x',
      '<13>1 a b c d',
      '13>1 - - - - - -',
      '<13>1 - - - - - [x@1 k="v',
      '<13>1 - - - - - -x',
    ]) {
      assert.equal(locateStructuredData(b(s)), null, s);
    }
  });

  it('escapes ", \\ and ] in the id', () => {
    assert.equal(escapeParamValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
    assert.equal(idElement('x@1', 'q"]').toString(), '[x@1 id="q\\"\\]"]');
  });
});

describe('syslog sink: payloads of received lines (raw kept)', () => {
  it('RFC 5424 lines go out byte for byte with only the element added, non-UTF-8 bytes and a BOM included', () => {
    const lines = [
      b(
        '<165>1 2003-10-11T22:14:15.003+02:00 mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] \u{feff}An application event',
      ),
      Buffer.concat([
        b('<13>1 2026-12-07T10:00:00.123456Z h app - - - bytes '),
        Buffer.from([0xff, 0xfe, 0x80, 0x00, 0x41]),
      ]),
    ];
    const out = payloadsOf(lines);
    assert.deepEqual(
      out.map((p) => p.kind),
      ['id_inserted', 'id_inserted'],
    );
    assert.deepEqual(
      out[0]!.bytes,
      b(lines[0]!.toString('utf8').replace('"Application"] ', '"Application"][fanin@32473 id="ev-0"] ')),
    );
    assert.deepEqual(
      out[1]!.bytes,
      Buffer.concat([
        b('<13>1 2026-12-07T10:00:00.123456Z h app - - [fanin@32473 id="ev-1"] bytes '),
        Buffer.from([0xff, 0xfe, 0x80, 0x00, 0x41]),
      ]),
    );
  });

  it('RFC 3164 and unparsable lines go out verbatim by default; wrap puts them whole into an RFC 5424 message with the id', () => {
    const lines = [
      b("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"),
      Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0xe9, 0x74, 0xe9]),
      b('no pri at all'),
    ];
    const verbatim = payloadsOf(lines);
    assert.deepEqual(
      verbatim.map((p) => p.kind),
      ['verbatim', 'verbatim', 'verbatim'],
    );
    verbatim.forEach((p, i) => assert.deepEqual(p.bytes, lines[i]));
    const wrapped = payloadsOf(lines, { ...opts, rfc3164Id: 'wrap' });
    assert.deepEqual(
      wrapped.map((p) => p.kind),
      ['wrapped', 'wrapped', 'wrapped'],
    );
    assert.match(
      wrapped[0]!.bytes.toString(),
      /^<34>1 \d{4}-10-11T22:14:15Z mymachine su - - \[fanin@32473 id="ev-0"\] <34>Oct 11/,
    );
    lines.forEach((line, i) =>
      assert.deepEqual(wrapped[i]!.bytes.subarray(wrapped[i]!.bytes.length - line.length), line),
    );
    assert.match(wrapped[2]!.bytes.toString(), /^<13>1 - - - - - \[fanin@32473 id="ev-2"\] no pri at all$/);
  });

  it('without the raw bytes (receiver.syslogKeepRaw off) a syslog event is rendered as RFC 5424 from its fields', () => {
    const [p] = payloadsOf(
      [b('<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 77 ID47 [ex@32473 iut="3"] An event')],
      opts,
      false,
    );
    assert.equal(p!.kind, 'rendered');
    assert.equal(
      p!.bytes.toString(),
      '<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 77 ID47 [ex@32473 iut="3"][fanin@32473 id="ev-0"] An event',
    );
  });

  it('a body without raw bytes decodes as before; one with them decodes to the same envelope', () => {
    const line = b('<13>1 - h a - - - m');
    const ctx = { receiverId: 'a', source: null, transport: 'tcp' as const, hashSourceAddress: true };
    const now = new Date(1_796_000_000_000);
    const plain = encodeSyslogFrame(line, ctx, now);
    const kept = encodeSyslogFrame(line, { ...ctx, keepRaw: true }, now);
    assert.deepEqual(decodeBody(kept.body), decodeBody(plain.body));
    assert.deepEqual(kept.key, plain.key);
    assert.deepEqual(Buffer.from(compactRawFrame(decode(kept.body) as unknown[])!), line);
    assert.equal(compactRawFrame(decode(plain.body) as unknown[]), null);
  });
});

describe('syslog sink: RFC 5424 rendering of Forward and HTTP events', () => {
  it('record as JSON MSG, tag as APP-NAME, event time as TIMESTAMP, host from the record', () => {
    const env = forwardEvent(3, Date.UTC(2026, 11, 7, 10, 0, 0), { host: 'web-7' });
    const out = renderRfc5424(env, 'id-3', opts).toString();
    assert.equal(
      out,
      `<13>1 2026-12-07T09:59:59.995Z web-7 app.web.access - - [fanin@32473 id="id-3"] ${JSON.stringify(env.record)}`,
    );
  });

  it('odd inputs: no time, no host, a tag with spaces and non-ASCII, an empty tag, a non-object record', () => {
    const base: EventEnvelope = {
      tag: 'my tag/é',
      time: null,
      received_at: 1,
      receiver: 'a',
      source: null,
      transport: 'http',
      format: 'http',
      message: null,
      record: 'text',
    };
    assert.equal(renderRfc5424(base, 'x', opts).toString(), '<13>1 - - my_tag/_ - - [fanin@32473 id="x"] "text"');
    assert.equal(
      renderRfc5424({ ...base, tag: '', time: '2026-12-07T10:00:00.123456789Z' }, 'x', {
        ...opts,
        pri: 134,
      }).toString(),
      '<134>1 2026-12-07T10:00:00.123456Z - fanin - - [fanin@32473 id="x"] "text"',
    );
    assert.equal(headerField('a'.repeat(60), 48).length, 48);
  });

  it('bodies that are not envelopes are returned with their reason', () => {
    const { events, rejected } = decodeSyslogSinkEvents([
      { sourceBatchId: 'x', ids: ['a', 'b'], bodies: [encodeBody({ nope: 1 }), Buffer.from([0xc1])] },
    ]);
    assert.equal(events.length, 0);
    assert.deepEqual(
      rejected.map((r) => r.id),
      ['a', 'b'],
    );
    assert.match(rejected[1]!.reason, /does not decode/);
  });

  it('reads a PRI only when it is one', () => {
    assert.deepEqual(
      ['<0>', '<191>x', '<192>', '<01>', '<>', 'x'].map((s) => leadingPri(b(s))),
      [0, 191, null, null, null, null],
    );
  });
});
