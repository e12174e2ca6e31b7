import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSyslog, type SyslogParseOptions } from '../receiver/syslog/parse-syslog.js';
import type { SyslogMessage } from '../receiver/syslog/syslog-message.js';
import { facilityName, severityName } from '../receiver/syslog/syslog-names.js';

const NOW = new Date('2024-06-15T12:00:00Z');
const BOM = '\uFEFF';

const parse = (line: string | Buffer, options: Partial<SyslogParseOptions> = {}) =>
  parseSyslog(typeof line === 'string' ? Buffer.from(line) : line, { now: NOW, ...options });

function ok(line: string | Buffer, options: Partial<SyslogParseOptions> = {}): SyslogMessage {
  const r = parse(line, options);
  if (!r.ok) assert.fail(`expected a parse, got ${r.error.code}: ${r.error.message}`);
  return r.message;
}

/** Compares only the fields named in `want`. */
function check(line: string | Buffer, want: Partial<SyslogMessage>, options: Partial<SyslogParseOptions> = {}): void {
  const got = ok(line, options) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(want)) assert.deepEqual(got[key], value, `field ${key}`);
}

function fails(line: string | Buffer, code: string, offset?: number): void {
  const r = parse(line);
  if (r.ok) assert.fail(`expected ${code}, got a ${r.message.format} parse`);
  assert.equal(r.error.code, code, r.error.message);
  if (offset !== undefined) assert.equal(r.error.offset, offset, r.error.message);
}

describe('parseSyslog: RFC 5424', () => {
  it('RFC 5424 6.5 example 1: BOM stripped, NILVALUE PROCID and SD', () => {
    const line = Buffer.concat([
      Buffer.from('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '),
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from("'su root' failed for lonvick on /dev/pts/8"),
    ]);
    check(line, {
      format: 'rfc5424', facility: 4, severity: 2, time: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com', appName: 'su', procId: null, msgId: 'ID47', structuredData: null,
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
  });

  it('RFC 5424 6.5 example 2: offset converted to UTC, all 6 fraction digits kept', () => {
    check("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", {
      facility: 20, severity: 5, time: '2003-08-24T12:14:15.000003Z', hostname: '192.0.2.1', appName: 'myproc',
      procId: '8710', msgId: null, structuredData: null, message: "%% It's time to make the do-nuts.",
    });
  });

  it('RFC 5424 6.5 examples 3 and 4: SD-ELEMENTs, with and without MSG', () => {
    const head = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ';
    const sd = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]';
    const first = { iut: '3', eventSource: 'Application', eventID: '1011' };
    check(`${head}${sd} ${BOM}An application event log entry...`, {
      structuredData: { 'exampleSDID@32473': first }, message: 'An application event log entry...',
    });
    check(`${head}${sd}[examplePriority@32473 class="high"]`, {
      structuredData: { 'exampleSDID@32473': first, 'examplePriority@32473': { class: 'high' } }, message: '',
    });
  });

  it('util-linux logger --rfc5424 output', () => {
    check('<13>1 2024-01-02T03:04:05.123456+01:00 ws17 alice - - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="41500"] hi', {
      facility: 1, severity: 5, time: '2024-01-02T02:04:05.123456Z', hostname: 'ws17', appName: 'alice',
      structuredData: { timeQuality: { tzKnown: '1', isSynced: '1', syncAccuracy: '41500' } }, message: 'hi',
    });
  });

  it('SD escapes: \\" \\\\ \\] are unescaped, any other backslash is kept, unescaped ] inside quotes is allowed', () => {
    check('<14>1 - h a - - [x@1 a="q\\"b\\\\c\\]d" b="C:\\temp\\n" c="[x]"] m', {
      structuredData: { 'x@1': { a: 'q"b\\c]d', b: 'C:\\temp\\n', c: '[x]' } }, message: 'm',
    });
  });

  it('a repeated PARAM-NAME becomes an array; __proto__ and toString stay ordinary keys', () => {
    const line = '<14>1 - - - - - [__proto__ ip="10.0.0.1" ip="10.0.0.2" ip="::1" v="ü"][b toString="1" toString="2" __proto__="x"] m';
    const sd = ok(line).structuredData ?? assert.fail('no structured data');
    assert.equal(Object.getPrototypeOf(sd), Object.prototype);
    assert.deepEqual(sd, JSON.parse('{"__proto__":{"ip":["10.0.0.1","10.0.0.2","::1"],"v":"ü"},"b":{"toString":["1","2"],"__proto__":"x"}}'));
  });

  it('all NILVALUEs', () => {
    check('<14>1 - - - - - -', {
      time: null, hostname: null, appName: null, procId: null, msgId: null, structuredData: null, message: '',
    });
  });

  it('offset shift across a year boundary; leap day accepted', () => {
    check('<14>1 2024-01-01T00:30:00+01:00 h a - - -', { time: '2023-12-31T23:30:00Z' });
    check('<14>1 2024-02-29T23:59:59Z h a - - -', { time: '2024-02-29T23:59:59Z' });
  });

  it('invalid UTF-8 in MSG becomes U+FFFD and the other bytes stay', () => {
    const line = Buffer.concat([Buffer.from('<14>1 - h a - - - ok '), Buffer.from([0xff, 0xc3]), Buffer.from(' end')]);
    assert.equal(ok(line).message, 'ok \uFFFD\uFFFD end');
  });

  it('rejects impossible timestamps with BAD_TIMESTAMP', () => {
    for (const ts of [
      '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z',
      '2016-12-31T23:59:60Z', '2024-01-01T00:00:00', '2024-01-01T00:00:00.1234567Z', '2024-01-01t00:00:00Z',
      '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00.Z', '24-01-01T00:00:00Z', '2024-01-01T00:00:00Zx',
    ]) {
      fails(`<14>1 ${ts} h a - - - m`, 'BAD_TIMESTAMP');
    }
  });

  it('rejects header fields that break the grammar with BAD_HEADER', () => {
    fails(`<14>1 - h ${'a'.repeat(49)} - - - m`, 'BAD_HEADER', 58);
    check(`<14>1 - h ${'a'.repeat(48)} - ${'m'.repeat(32)} -`, { appName: 'a'.repeat(48), msgId: 'm'.repeat(32) });
    fails('<14>1 - h a - - - m'.replace('h', 'hé'), 'BAD_HEADER', 9);
    fails('<14>1 - h  a - - - m', 'BAD_HEADER', 10);
    fails('<14>1 - h a - -', 'BAD_HEADER', 15);
  });

  it('rejects malformed STRUCTURED-DATA with BAD_STRUCTURED_DATA', () => {
    for (const sd of ['x', '[]', '[a b]', '[a b="1]', '[a b=1]', '[a]x', '[a]-', `[${'s'.repeat(33)}]`, '[a b="1"', '[a\tb="1"]']) {
      fails(`<14>1 - h a - - ${sd}`, 'BAD_STRUCTURED_DATA');
    }
  });
});

describe('parseSyslog: PRI and dispatch', () => {
  it('PRI bounds, digits and leading zeros', () => {
    check('<0>1 - - - - - -', { facility: 0, severity: 0 });
    check('<191>1 - - - - - -', { facility: 23, severity: 7 });
    fails('<192>1 - - - - - -', 'BAD_PRI', 1);
    fails('<01>1 - - - - - -', 'BAD_PRI', 1);
    fails('<1000>x', 'BAD_PRI', 4);
    fails('<>x', 'BAD_PRI', 1);
    fails('<13 x', 'BAD_PRI', 3);
    fails('Jan  2 03:04:05 host app: no PRI', 'BAD_PRI', 0);
    fails(Buffer.alloc(0), 'EMPTY', 0);
  });

  it('a VERSION other than 1 in an RFC 5424 header is BAD_VERSION; a number opening a 3164 MSG is not', () => {
    fails('<34>2 2003-10-11T22:14:15.003Z host app - - - x', 'BAD_VERSION', 4);
    fails('<34>10 - host app - - - x', 'BAD_VERSION', 4);
    check('<13>5 files removed', { format: 'rfc3164', time: null, message: '5 files removed' });
  });

  it('names follow fluentd in_syslog', () => {
    assert.deepEqual([0, 9, 10, 13, 14, 15, 16, 23].map(facilityName), ['kern', 'cron', 'authpriv', 'audit', 'alert', 'at', 'local0', 'local7']);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(severityName), ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug']);
    assert.deepEqual([facilityName(24), facilityName(-1), severityName(8), severityName(1.5)], ['unknown', 'unknown', 'unknown', 'unknown']);
  });
});

describe('parseSyslog: RFC 3164 and the variants devices send', () => {
  it('util-linux logger --rfc3164, with --id, space-padded day', () => {
    check('<13>Jan  2 03:04:05 ws17 alice: backup finished', {
      format: 'rfc3164', facility: 1, severity: 5, time: '2024-01-02T03:04:05Z', hostname: 'ws17', appName: 'alice',
      procId: null, msgId: null, structuredData: null, message: 'backup finished',
    });
    check('<13>Jan 2 03:04:05 ws17 alice[4242]: with pid', { time: '2024-01-02T03:04:05Z', appName: 'alice', procId: '4242' });
  });

  it('missing HOSTNAME: a TAG right after the timestamp (journald relays)', () => {
    check('<30>Jun 14 03:04:05 systemd[1]: Started Session 42.', { hostname: null, appName: 'systemd', procId: '1', message: 'Started Session 42.' });
  });

  it('a HOSTNAME without a TAG leaves the rest as MSG; IPv6 hosts are not taken for tags', () => {
    check('<13>Jun 14 03:04:05 host just some text', { hostname: 'host', appName: null, message: 'just some text' });
    check('<13>Jun 14 03:04:05 2001:db8::1 ntpd[7]: synced', { hostname: '2001:db8::1', appName: 'ntpd', message: 'synced' });
    check('<13>Jun 14 03:04:05 host ', { hostname: 'host', message: '' });
  });

  it('rsyslog RSYSLOG_ForwardFormat: an RFC 3339 stamp in a 3164 line', () => {
    check('<86>2024-01-02T03:04:05.678901+01:00 web01 sshd[2211]: Accepted publickey', {
      format: 'rfc3164', time: '2024-01-02T02:04:05.678901Z', hostname: 'web01', appName: 'sshd', procId: '2211', message: 'Accepted publickey',
    });
    check('<86>2024-01-02T03:04:05.123456789Z h app: nanoseconds', { time: '2024-01-02T03:04:05.123456Z' });
  });

  it('Cisco IOS: sequence number, *, milliseconds, zone; the mnemonic stays in MSG', () => {
    check('<189>123: *Mar  1 00:00:12.345: %SYS-5-CONFIG_I: Configured from console by console', {
      format: 'rfc3164', facility: 23, severity: 5, time: '2024-03-01T00:00:12.345Z', hostname: null, appName: null,
      message: '%SYS-5-CONFIG_I: Configured from console by console',
    });
    check('<189>124: Jun  2 03:04:05.123 UTC: %LINK-3-UPDOWN: up', { time: '2024-06-02T03:04:05.123Z', message: '%LINK-3-UPDOWN: up' });
    const unknownZone = '<189>125: Jun  2 03:04:05.123 CST: %LINK-3-UPDOWN: up';
    check(unknownZone, { time: null, message: unknownZone.slice('<189>'.length) });
    check('<189>Jun  2 03:04:05 router1 %SYS-5-CONFIG_I: Configured', { hostname: 'router1', appName: null, message: '%SYS-5-CONFIG_I: Configured' });
  });

  it('Cisco ASA: year before the time, with and without device-id', () => {
    check('<166>Jan  2 2023 03:04:05: %ASA-6-302013: Built', { time: '2023-01-02T03:04:05Z', hostname: null, message: '%ASA-6-302013: Built' });
    check('<166>Jan  2 2023 03:04:05 asa01 : %ASA-6-302014: Teardown', { hostname: 'asa01', appName: null, message: '%ASA-6-302014: Teardown' });
  });

  it('no header at all (FortiGate key=value): time null, the whole text kept as MSG', () => {
    const text = 'date=2024-01-02 time=03:04:05 devname="FGT60E" logid="0000000013" type="traffic"';
    check(`<189>${text}`, { format: 'rfc3164', time: null, hostname: null, appName: null, message: text });
  });

  it('an impossible BSD date keeps the whole text as MSG with time null', () => {
    check('<13>Feb 30 03:04:05 host app: x', { time: null, hostname: null, message: 'Feb 30 03:04:05 host app: x' });
    check('<13>Jan  2 25:04:05 host app: x', { time: null, message: 'Jan  2 25:04:05 host app: x' });
  });

  it('year inference picks the year closest to now', () => {
    const jan1 = { now: new Date('2024-01-01T00:10:00Z') };
    check('<13>Dec 31 23:59:00 h a: x', { time: '2023-12-31T23:59:00Z' }, jan1);
    check('<13>Jan  1 00:00:30 h a: x', { time: '2024-01-01T00:00:30Z' }, { now: new Date('2023-12-31T23:59:50Z') });
    check('<13>Feb 29 12:00:00 h a: x', { time: '2024-02-29T12:00:00Z' }, { now: new Date('2025-01-15T00:00:00Z') });
  });

  it("rfc3164TimeZone 'local' reads the stamp in the process's zone", () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      check('<13>Jun 14 12:00:00 h a: x', { time: '2024-06-14T10:00:00Z' }, { rfc3164TimeZone: 'local' });
      check('<13>Jun 14 12:00:00 h a: x', { time: '2024-06-14T12:00:00Z' });
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('BOM at the start of a 3164 MSG is stripped', () => {
    check(Buffer.concat([Buffer.from('<13>Jun 14 12:00:00 h a: '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x')]), { message: 'x' });
  });
});

describe('parseSyslog: fixture lines from real senders', () => {
  const text = readFileSync(new URL('../../test/fixtures/syslog-lines.txt', import.meta.url), 'utf8');
  let section = '';
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    if (line === '' || line.startsWith('#')) continue;
    count++;
    const format = section;
    it(`${format}: ${line.slice(0, 60)}`, () => {
      const m = ok(line);
      assert.equal(m.format, format);
      // Never lost: MSG is the tail of the line, and the header fields hold what was cut off.
      assert.ok(line.endsWith(m.message), `message ${JSON.stringify(m.message)} is not the tail of the line`);
      if (m.format === 'rfc3164' && m.time === null) assert.equal(m.message, line.slice(line.indexOf('>') + 1));
    });
  }
  it('has lines for both formats', () => assert.ok(count >= 20, `${count} fixture lines`));
});
