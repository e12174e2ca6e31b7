import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { packParsedSyslogBody, parsedSyslogRoute } from '../../../receiver/syslog-body.js';
import { encodeSyslogFrame, syslogBodyValues, type SyslogContext } from '../../../receiver/syslog-event.js';
import { parseSyslog } from '../../../receiver/syslog/parse-syslog.js';
import { NO_SEVERITY } from '../../../shared/event-route.js';
import { packTuple } from '../../../shared/record-packer.js';
import { entryBytes, loadCorpus } from '../../../testkit/syslog-corpus.js';

// Bodies cross the broker to workers and uploaders of other versions: the direct writer must write exactly the
// bytes of the generic one (packTuple over syslogBodyValues), which the compact-body tests pin to the envelope.
const contexts: SyslogContext[] = [
  { receiverId: 'a', source: '192.0.2.1', transport: 'tcp', hashSourceAddress: true },
  { receiverId: 'récepteur-2', source: null, transport: 'udp', hashSourceAddress: false, keepRaw: true },
  {
    receiverId: 'b',
    source: '2001:db8::1',
    transport: 'tls',
    hashSourceAddress: true,
    rfc3164TimeZone: 'Europe/Berlin',
  },
];
const nows = [new Date(1_795_411_541_557), new Date(0), new Date(0x1_0000_0005)];
const frames = [
  ...loadCorpus().map(entryBytes),
  ...Array.from({ length: 192 }, (_, pri) =>
    Buffer.from(`<${pri}>1 2026-12-07T12:00:00.123Z h app ${pri} - - line ${pri}`),
  ),
  Buffer.from('a line without PRI'),
];

describe('direct syslog body writer', () => {
  it('writes the bytes packTuple writes for the same values, in any order of senders, PRIs and receipt times', () => {
    let parsed = 0;
    for (let round = 0; round < 2; round++) {
      for (const now of nows) {
        for (const frame of frames) {
          for (const ctx of round === 0 ? contexts : [...contexts].reverse()) {
            const result = parseSyslog(frame, { now, rfc3164TimeZone: ctx.rfc3164TimeZone });
            if (!result.ok) continue;
            parsed++;
            const { values } = syslogBodyValues(frame, ctx, now);
            if (ctx.keepRaw === true) values.push(frame);
            const want = Buffer.from(packTuple(values));
            const raw = ctx.keepRaw === true ? frame : null;
            assert.deepEqual(Buffer.from(packParsedSyslogBody(result.message, ctx, now.getTime(), raw)), want);
            assert.deepEqual(Buffer.from(encodeSyslogFrame(frame, ctx, now).body), want, frame.toString());
          }
        }
      }
    }
    assert.ok(parsed > 1000, `${parsed} parsed lines compared`);
  });

  it('routes a parsed line by its tag and severity, one shared key per PRI', () => {
    assert.deepEqual(parsedSyslogRoute(16, 6), { tag: 'syslog.local0.info', severity: 6 });
    assert.equal(parsedSyslogRoute(16, 6), parsedSyslogRoute(16, 6));
    assert.deepEqual(parsedSyslogRoute(1, 5), { tag: 'syslog.user.notice', severity: 5 });
    assert.deepEqual(parsedSyslogRoute(30, 9), { tag: 'syslog.unknown.unknown', severity: NO_SEVERITY });
  });
});
