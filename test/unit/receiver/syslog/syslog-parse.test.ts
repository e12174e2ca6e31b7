import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslog, type SyslogParseOptions } from '../../../../receiver/syslog/parse-syslog.js';
import { SyslogParseError, type SyslogMessage } from '../../../../receiver/syslog/syslog-message.js';
import { isValidTimeZone } from '../../../../receiver/syslog/time-zone.js';
import { facilityName, severityName } from '../../../../receiver/syslog/syslog-names.js';

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
      format: 'rfc5424',
      facility: 4,
      severity: 2,
      time: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'su',
      procId: null,
      msgId: 'ID47',
      structuredData: null,
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
  });

  it('RFC 5424 6.5 example 2: offset converted to UTC, all 6 fraction digits kept', () => {
    check("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", {
      facility: 20,
      severity: 5,
      time: '2003-08-24T12:14:15.000003Z',
      hostname: '192.0.2.1',
      appName: 'myproc',
      procId: '8710',
      msgId: null,
      structuredData: null,
      message: "%% It's time to make the do-nuts.",
    });
  });

  it('RFC 5424 6.5 examples 3 and 4: SD-ELEMENTs, with and without MSG', () => {
    const head = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ';
    const sd = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]';
    const first = { iut: '3', eventSource: 'Application', eventID: '1011' };
    check(`${head}${sd} ${BOM}An application event log entry...`, {
      structuredData: { 'exampleSDID@32473': first },
      message: 'An application event log entry...',
    });
    check(`${head}${sd}[examplePriority@32473 class="high"]`, {
      structuredData: { 'exampleSDID@32473': first, 'examplePriority@32473': { class: 'high' } },
      message: '',
    });
  });

  it('util-linux logger --rfc5424 output', () => {
    check(
      '<13>1 2024-01-02T03:04:05.123456+01:00 ws17 alice - - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="41500"] hi',
      {
        facility: 1,
        severity: 5,
        time: '2024-01-02T02:04:05.123456Z',
        hostname: 'ws17',
        appName: 'alice',
        structuredData: { timeQuality: { tzKnown: '1', isSynced: '1', syncAccuracy: '41500' } },
        message: 'hi',
      },
    );
  });

  it('SD escapes: \\" \\\\ \\] are unescaped, any other backslash is kept, unescaped ] inside quotes is allowed', () => {
    check('<14>1 - h a - - [x@1 a="q\\"b\\\\c\\]d" b="C:\\temp\\n" c="[x]"] m', {
      structuredData: { 'x@1': { a: 'q"b\\c]d', b: 'C:\\temp\\n', c: '[x]' } },
      message: 'm',
    });
  });

  it('a repeated PARAM-NAME becomes an array; __proto__ and toString stay ordinary keys', () => {
    const line =
      '<14>1 - - - - - [__proto__ ip="10.0.0.1" ip="10.0.0.2" ip="::1" v="ü"][b toString="1" toString="2" __proto__="x"] m';
    const sd = ok(line).structuredData ?? assert.fail('no structured data');
    assert.equal(Object.getPrototypeOf(sd), Object.prototype);
    assert.deepEqual(
      sd,
      JSON.parse(
        '{"__proto__":{"ip":["10.0.0.1","10.0.0.2","::1"],"v":"ü"},"b":{"toString":["1","2"],"__proto__":"x"}}',
      ),
    );
  });

  it('the SD reader expects the names in the order it last saw them, and reads any other order or name exactly', () => {
    // The first line teaches the order id -> a -> b; each later line breaks it in another way: a longer name that
    // starts with the expected one, a shorter one, another order, a repeat, a repeated SD-ID, a bad byte after it.
    const first = '<14>1 - h a - - [order@1 a="1" b="2"] m';
    check(first, { structuredData: { 'order@1': { a: '1', b: '2' } } });
    check(first, { structuredData: { 'order@1': { a: '1', b: '2' } } });
    check('<14>1 - h a - - [order@1 ab="1" b="2"] m', { structuredData: { 'order@1': { ab: '1', b: '2' } } });
    check('<14>1 - h a - - [order@12 a="1"] m', { structuredData: { 'order@12': { a: '1' } } });
    check('<14>1 - h a - - [order@1 b="2" a="1"] m', { structuredData: { 'order@1': { b: '2', a: '1' } } });
    check('<14>1 - h a - - [order@1 a="1" a="3" b="2"] m', {
      structuredData: { 'order@1': { a: ['1', '3'], b: '2' } },
    });
    check('<14>1 - h a - - [order@1 a="1" b="2"][order@1 a="3" b="4"] m', {
      structuredData: { 'order@1': { a: ['1', '3'], b: ['2', '4'] } },
    });
    check(first, { structuredData: { 'order@1': { a: '1', b: '2' } } });
    fails('<14>1 - h a - - [order@1 a\x01="1"] m', 'BAD_STRUCTURED_DATA');
    fails('<14>1 - h a - - [order@1 a\x01="1"] m', 'BAD_STRUCTURED_DATA');
    fails('<14>1 - h a - - [order@1 a b="2"] m', 'BAD_STRUCTURED_DATA');
  });

  it('values with and without escapes in any order on one line are each read whole', () => {
    check('<14>1 - h a - - [e@1 a="x" b="y\\"z" c="" d="\\]" e="w"][f@1 g="\\\\" h="v"] m', {
      structuredData: { 'e@1': { a: 'x', b: 'y"z', c: '', d: ']', e: 'w' }, 'f@1': { g: '\\', h: 'v' } },
      message: 'm',
    });
  });

  it('all NILVALUEs', () => {
    check('<14>1 - - - - - -', {
      time: null,
      hostname: null,
      appName: null,
      procId: null,
      msgId: null,
      structuredData: null,
      message: '',
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
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2016-12-31T23:59:60Z',
      '2024-01-01T00:00:00',
      '2024-01-01T00:00:00.1234567Z',
      '2024-01-01t00:00:00Z',
      '2024-01-01T00:00:00+24:00',
      '2024-01-01T00:00:00.Z',
      '24-01-01T00:00:00Z',
      '2024-01-01T00:00:00Zx',
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
    for (const sd of [
      'x',
      '[]',
      '[a b]',
      '[a b="1]',
      '[a b=1]',
      '[a]x',
      '[a]-',
      `[${'s'.repeat(33)}]`,
      '[a b="1"',
      '[a\tb="1"]',
    ]) {
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
    fails('<abc>x', 'BAD_PRI', 1);
    fails('<Event xmlns="x">', 'BAD_PRI', 1);
    fails(Buffer.alloc(0), 'EMPTY', 0);
  });

  it('a line without PRI is RFC 3164 with facility user and severity notice (RFC 3164 4.3.3)', () => {
    check('Jan  2 03:04:05 host app[7]: no PRI', {
      format: 'rfc3164',
      facility: 1,
      severity: 5,
      time: '2024-01-02T03:04:05Z',
      hostname: 'host',
      appName: 'app',
      procId: '7',
      message: 'no PRI',
    });
    check('plain text', {
      format: 'rfc3164',
      facility: 1,
      severity: 5,
      time: null,
      hostname: null,
      appName: null,
      message: 'plain text',
    });
    check(' <13>not a PRI where it counts', { facility: 1, severity: 5, message: ' <13>not a PRI where it counts' });
  });

  it('errors from the parsers are cheap values: no stack, but still SyslogParseError and Error', () => {
    const r = parse('<999>x');
    assert.ok(!r.ok && r.error instanceof SyslogParseError && r.error instanceof Error);
    assert.equal(r.error.name, 'SyslogParseError');
    assert.equal(r.error.message, 'PRI 999 is above 191 (at byte 1)');
    const made = new SyslogParseError('BAD_PRI', 'made by a caller', 3);
    assert.deepEqual([made.code, made.offset, made.message], ['BAD_PRI', 3, 'made by a caller (at byte 3)']);
  });

  it('a VERSION other than 1 in an RFC 5424 header is BAD_VERSION; a number opening a 3164 MSG is not', () => {
    fails('<34>2 2003-10-11T22:14:15.003Z host app - - - x', 'BAD_VERSION', 4);
    fails('<34>10 - host app - - - x', 'BAD_VERSION', 4);
    check('<13>5 files removed', { format: 'rfc3164', time: null, message: '5 files removed' });
  });

  it('names follow fluentd in_syslog', () => {
    assert.deepEqual([0, 9, 10, 13, 14, 15, 16, 23].map(facilityName), [
      'kern',
      'cron',
      'authpriv',
      'audit',
      'alert',
      'at',
      'local0',
      'local7',
    ]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(severityName), [
      'emerg',
      'alert',
      'crit',
      'err',
      'warn',
      'notice',
      'info',
      'debug',
    ]);
    assert.deepEqual(
      [facilityName(24), facilityName(-1), severityName(8), severityName(1.5)],
      ['unknown', 'unknown', 'unknown', 'unknown'],
    );
  });
});

describe('parseSyslog: RFC 3164 and the variants devices send', () => {
  it('util-linux logger --rfc3164, with --id, space-padded day', () => {
    check('<13>Jan  2 03:04:05 ws17 alice: backup finished', {
      format: 'rfc3164',
      facility: 1,
      severity: 5,
      time: '2024-01-02T03:04:05Z',
      hostname: 'ws17',
      appName: 'alice',
      procId: null,
      msgId: null,
      structuredData: null,
      message: 'backup finished',
    });
    check('<13>Jan 2 03:04:05 ws17 alice[4242]: with pid', {
      time: '2024-01-02T03:04:05Z',
      appName: 'alice',
      procId: '4242',
    });
  });

  it('missing HOSTNAME: a TAG right after the timestamp (journald relays)', () => {
    check('<30>Jun 14 03:04:05 systemd[1]: Started Session 42.', {
      hostname: null,
      appName: 'systemd',
      procId: '1',
      message: 'Started Session 42.',
    });
  });

  it('a HOSTNAME without a TAG leaves the rest as MSG; IPv6 hosts are not taken for tags', () => {
    check('<13>Jun 14 03:04:05 host just some text', { hostname: 'host', appName: null, message: 'just some text' });
    check('<13>Jun 14 03:04:05 2001:db8::1 ntpd[7]: synced', {
      hostname: '2001:db8::1',
      appName: 'ntpd',
      message: 'synced',
    });
    check('<13>Jun 14 03:04:05 host ', { hostname: 'host', message: '' });
  });

  it('rsyslog RSYSLOG_ForwardFormat: an RFC 3339 stamp in a 3164 line', () => {
    check('<86>2024-01-02T03:04:05.678901+01:00 web01 sshd[2211]: Accepted publickey', {
      format: 'rfc3164',
      time: '2024-01-02T02:04:05.678901Z',
      hostname: 'web01',
      appName: 'sshd',
      procId: '2211',
      message: 'Accepted publickey',
    });
    check('<86>2024-01-02T03:04:05.123456789Z h app: nanoseconds', { time: '2024-01-02T03:04:05.123456Z' });
  });

  it('Cisco IOS: sequence number, *, milliseconds, zone; the mnemonic stays in MSG', () => {
    check('<189>123: *Mar  1 00:00:12.345: %SYS-5-CONFIG_I: Configured from console by console', {
      format: 'rfc3164',
      facility: 23,
      severity: 5,
      time: '2024-03-01T00:00:12.345Z',
      hostname: null,
      appName: null,
      message: '%SYS-5-CONFIG_I: Configured from console by console',
    });
    check('<189>124: Jun  2 03:04:05.123 UTC: %LINK-3-UPDOWN: up', {
      time: '2024-06-02T03:04:05.123Z',
      message: '%LINK-3-UPDOWN: up',
    });
    const unknownZone = '<189>125: Jun  2 03:04:05.123 CST: %LINK-3-UPDOWN: up';
    check(unknownZone, { time: null, message: unknownZone.slice('<189>'.length) });
    check('<189>Jun  2 03:04:05 router1 %SYS-5-CONFIG_I: Configured', {
      hostname: 'router1',
      appName: null,
      message: '%SYS-5-CONFIG_I: Configured',
    });
  });

  it('Cisco ASA: year before the time, with and without device-id', () => {
    check('<166>Jan  2 2023 03:04:05: %ASA-6-302013: Built', {
      time: '2023-01-02T03:04:05Z',
      hostname: null,
      message: '%ASA-6-302013: Built',
    });
    check('<166>Jan  2 2023 03:04:05 asa01 : %ASA-6-302014: Teardown', {
      hostname: 'asa01',
      appName: null,
      message: '%ASA-6-302014: Teardown',
    });
  });

  it('FortiGate key=value: time from date= time= (and tz=), HOSTNAME from devname=, the whole text as MSG', () => {
    const text = 'date=2024-01-02 time=03:04:05 devname="FGT60E" logid="0000000013" type="traffic" tz="+0100"';
    check(`<189>${text}`, {
      format: 'rfc3164',
      time: '2024-01-02T02:04:05Z',
      hostname: 'FGT60E',
      appName: null,
      message: text,
    });
    check('<189>date=2024-01-02 time=03:04:05 devname=fw-1 type=event', {
      time: '2024-01-02T03:04:05Z',
      hostname: 'fw-1',
    });
    check('<189>date=2024-02-30 time=03:04:05 devname=fw-1', { time: null, hostname: 'fw-1' });
    check('<189>date=2024-01-02 time=03:04:05 tz="bogus" devname=fw-1', { time: null, hostname: 'fw-1' });
    // The keys are searched by their rare letters ('z=', 'vname='): the same letters in other keys are passed over.
    check('<189>date=2024-01-02 time=03:04:05 biz=1 srcdevname=x devname=fw-2 quiz="9" tz="-0130"', {
      time: '2024-01-02T04:34:05Z',
      hostname: 'fw-2',
    });
    check('<189>date=2024-01-02 time=03:04:05 biz=1 srcdevname=x', { time: '2024-01-02T03:04:05Z', hostname: null });
  });

  it('Cisco prefixes: sequence numbers, an empty token, the origin-id host (also IPv6), clock marks', () => {
    const msg = '%SYS-5-CONFIG_I: Configured';
    check(`<189>12: host-1: *Jan  2 03:04:05.678: ${msg}`, {
      hostname: 'host-1',
      time: '2024-01-02T03:04:05.678Z',
      message: msg,
    });
    check(`<189>: Jan  2 2023 03:04:05: ${msg}`, { hostname: null, time: '2023-01-02T03:04:05Z', message: msg });
    check(`<189>12: 2a02:cf40::: 34: .Jan  2 03:04:05: ${msg}`, {
      hostname: '2a02:cf40::',
      time: '2024-01-02T03:04:05Z',
      message: msg,
    });
    // A prefix that is not followed by a timestamp is not a prefix: the whole text stays.
    check(`<189>12: host-1: 34: 2y10w: ${msg}`, {
      hostname: null,
      time: null,
      message: `12: host-1: 34: 2y10w: ${msg}`,
    });
  });

  it('zone names after the time: known ones shift the time, ambiguous ones leave it unread', () => {
    check('<189>1: Jun  2 03:04:05 CEST: %X-5-Y: up', { time: '2024-06-02T01:04:05Z' });
    check('<189>1: Jun  2 03:04:05 mdt: %X-5-Y: up', { time: '2024-06-02T09:04:05Z' });
    check('<189>1: Jun  2 03:04:05 UTC-05:30: %X-5-Y: up', { time: '2024-06-02T08:34:05Z' });
    check('<189>1: Jun  2 03:04:05 IST: %X-5-Y: up', { time: null, message: '1: Jun  2 03:04:05 IST: %X-5-Y: up' });
    // A word after the time that only looks like a zone is the TAG.
    check('<13>Jun  2 03:04:05 sshd: hello', { time: '2024-06-02T03:04:05Z', appName: 'sshd', message: 'hello' });
  });

  it('zone words of every length the reader takes: 2 letters, 4 letters, UTC/GMT with an offset of 1 or 2 digits', () => {
    // The ':' or the offset sign of each is where the pre-check before readZoneName looks (zoneMayFollow).
    check('<189>1: Jun  2 03:04:05 UT: %X-5-Y: up', {
      time: '2024-06-02T03:04:05Z',
      hostname: null,
      appName: null,
      message: '%X-5-Y: up',
    });
    check('<189>1: Jun  2 03:04:05 AKDT: %X-5-Y: up', { time: '2024-06-02T11:04:05Z', message: '%X-5-Y: up' });
    check('<189>1: Jun  2 03:04:05 GMT-5: %X-5-Y: up', { time: '2024-06-02T08:04:05Z', message: '%X-5-Y: up' });
    check('<189>1: Jun  2 03:04:05 gmt+10: %X-5-Y: up', { time: '2024-06-01T17:04:05Z', message: '%X-5-Y: up' });
    // A 6-letter word before ':' is no zone: the stamp is followed by a TAG-shaped word, not a zone.
    check('<13>Jun  2 03:04:05 kernel: hello', { time: '2024-06-02T03:04:05Z', appName: 'kernel', message: 'hello' });
  });

  it('NX-OS year first, a year after the time, a leading space after PRI', () => {
    check('<189>: 2023 May  2 12:57:15 UTC: %ETHPORT-5-IF_UP: up', {
      time: '2023-05-02T12:57:15Z',
      message: '%ETHPORT-5-IF_UP: up',
    });
    check('<190>Apr 15 21:28:13 2007 linksys app: msg', {
      time: '2007-04-15T21:28:13Z',
      hostname: 'linksys',
      appName: 'app',
    });
    check('<12> Jul 14 11:22:29 host 1,2019/07/14', {
      time: '2024-07-14T11:22:29Z',
      hostname: 'host',
      message: '1,2019/07/14',
    });
  });

  it('a host named before a Cisco mnemonic is the HOSTNAME, not a TAG; an all-digit TAG is not a TAG', () => {
    check('<166>Oct 10 2019 10:21:36 asa-1: %ASA-6-302021: x', {
      hostname: 'asa-1',
      appName: null,
      message: '%ASA-6-302021: x',
    });
    check('<13>Feb  8 04:00:48 10.0.0.2 585917: Feb  8 04:00:47: %SEC-6-X: y', {
      hostname: '10.0.0.2',
      appName: null,
      message: '585917: Feb  8 04:00:47: %SEC-6-X: y',
    });
  });

  it('a TAG[PID] without a timestamp; a bare word: is only text', () => {
    check('<15> openvpn[2499]: PTHREAD support initialized', {
      time: null,
      appName: 'openvpn',
      procId: '2499',
      message: 'PTHREAD support initialized',
    });
    check('<13>Error: disk full', { time: null, appName: null, message: 'Error: disk full' });
  });

  it('RFC 3339 with a space for T in a 3164 line is the stamp; in an RFC 5424 line it is still BAD_TIMESTAMP', () => {
    check('<190>2018-06-19 02:13:38 web01 app: m', {
      time: '2018-06-19T02:13:38Z',
      hostname: 'web01',
      appName: 'app',
      message: 'm',
    });
    check('<190>2018-06-19 02:13:38.5-05:00 web01 m', {
      time: '2018-06-19T07:13:38.5Z',
      hostname: 'web01',
      message: 'm',
    });
    check('<190>2018-06-19 x', { time: null, hostname: null, message: '2018-06-19 x' });
    fails('<190>1 2018-06-19 02:13:38Z h a - - - m', 'BAD_TIMESTAMP');
  });

  it('IOS XR nodes, line cards and ASA glued colons before the stamp; a host or process[pid] before the mnemonic', () => {
    check('<187>7: RP/0/RSP0/CPU0:Jun 14 03:04:05 UTC: ifmgr[2]: %PKT_INFRA-LINK-3-UPDOWN : x', {
      time: '2024-06-14T03:04:05Z',
      hostname: null,
      appName: 'ifmgr',
      procId: '2',
      message: '%PKT_INFRA-LINK-3-UPDOWN : x',
    });
    check('<187>8: LC 0/1: Jun 14 03:04:05 UTC: %L-3-E: y', {
      time: '2024-06-14T03:04:05Z',
      hostname: null,
      message: '%L-3-E: y',
    });
    check('<111>:Jun 14 03:04:05 UTC: %ASA-6-1: z', { time: '2024-06-14T03:04:05Z', message: '%ASA-6-1: z' });
    check('<189>Jun 14 03:04:05 UTC: sw1: %LINK-3-UPDOWN: d', {
      hostname: 'sw1',
      appName: null,
      message: '%LINK-3-UPDOWN: d',
    });
    // An origin-id before the stamp is the host; text after the stamp that is no host and mnemonic stays MSG.
    check('<189>1: o1: Jun 14 03:04:05 UTC: sw1: %LINK-3-UPDOWN: d', {
      hostname: 'o1',
      message: 'sw1: %LINK-3-UPDOWN: d',
    });
    check('<189>Jun 14 03:04:05 UTC: sw1: text', { hostname: null, appName: null, message: 'sw1: text' });
    check('<189>Jun 14 03:04:05 UTC: a[1]: text', {
      hostname: null,
      appName: null,
      procId: null,
      message: 'a[1]: text',
    });
  });

  it('Cisco without a stamp: a sequence number, a host and the mnemonic; without the number it stays text', () => {
    check('<190>5: h-1: %SYS-5-CONFIG_I: c', { time: null, hostname: 'h-1', message: '%SYS-5-CONFIG_I: c' });
    check('<190>5: %SYS-5-CONFIG_I: c', { time: null, hostname: null, message: '%SYS-5-CONFIG_I: c' });
    check('<190>h-1: %SYS-5-CONFIG_I: c', { time: null, hostname: null, message: 'h-1: %SYS-5-CONFIG_I: c' });
    check('<13>and/or: text', { time: null, hostname: null, appName: null, message: 'and/or: text' });
  });

  it('RFC 3164 5.4 example 4: a zone-shaped word after a year-first stamp is MSG and does not shift the time', () => {
    check("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!", {
      time: '1990-10-22T10:52:01Z',
      hostname: null,
      appName: null,
      message: "TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
    });
    // After a BSD stamp the same shape is a host name.
    check('<13>Jun 14 03:04:05 SW-1 app: m', {
      time: '2024-06-14T03:04:05Z',
      hostname: 'SW-1',
      appName: 'app',
      message: 'm',
    });
  });

  it('AIX "Message forwarded from" names the host', () => {
    check('<38>Sep 22 10:11:56 Message forwarded from aix01: sshd[6799]: ok', {
      hostname: 'aix01',
      appName: 'sshd',
      procId: '6799',
      message: 'ok',
    });
  });

  it('an impossible BSD date keeps the whole text as MSG with time null', () => {
    check('<13>Feb 30 03:04:05 host app: x', { time: null, hostname: null, message: 'Feb 30 03:04:05 host app: x' });
    check('<13>Jan  2 25:04:05 host app: x', { time: null, message: 'Jan  2 25:04:05 host app: x' });
    check('<13>Apr 31 03:04:05 host app: x', { time: null, message: 'Apr 31 03:04:05 host app: x' });
    check('<13>Jan 0 03:04:05 host app: x', { time: null, message: 'Jan 0 03:04:05 host app: x' });
    check('<13>Dec 32 03:04:05 host app: x', { time: null, message: 'Dec 32 03:04:05 host app: x' });
    check('<13>Dec 31 03:04:05 host app: x', { time: '2023-12-31T03:04:05Z', hostname: 'host' });
  });

  it('year inference: the latest year that puts the stamp at most a month ahead of now', () => {
    const jan1 = { now: new Date('2024-01-01T00:10:00Z') };
    check('<13>Dec 31 23:59:00 h a: x', { time: '2023-12-31T23:59:00Z' }, jan1);
    check('<13>Jan  1 00:00:30 h a: x', { time: '2024-01-01T00:00:30Z' }, { now: new Date('2023-12-31T23:59:50Z') });
    check('<13>Feb 29 12:00:00 h a: x', { time: '2024-02-29T12:00:00Z' }, { now: new Date('2025-01-15T00:00:00Z') });
    check('<13>Jul 14 12:00:00 h a: x', { time: '2023-07-14T12:00:00Z' }, { now: new Date('2024-01-15T00:00:00Z') });
    check('<13>Feb 10 12:00:00 h a: x', { time: '2024-02-10T12:00:00Z' }, { now: new Date('2024-01-15T00:00:00Z') });
    // Received on 5 December: 1 January is 27 days ahead (next year), 10 January 36 days (this year's, long past).
    const dec5 = { now: new Date('2026-12-05T03:00:00Z') };
    check('<13>Jan  1 02:21:38 h a: x', { time: '2027-01-01T02:21:38Z' }, dec5);
    check('<13>Jan 10 02:21:38 h a: x', { time: '2026-01-10T02:21:38Z' }, dec5);
    // No year in reach has a Feb 29: the stamp is not read.
    check(
      '<13>Feb 29 12:00:00 h a: x',
      { time: null, message: 'Feb 29 12:00:00 h a: x' },
      { now: new Date('2026-06-01T00:00:00Z') },
    );
  });

  it('rfc3164TimeZone: an IANA zone with its DST; an unknown one leaves zone-less stamps unread', () => {
    check('<13>Jul 14 12:00:00 h a: x', { time: '2024-07-14T10:00:00Z' }, { rfc3164TimeZone: 'Europe/Berlin' });
    check('<13>Jan 14 12:00:00 h a: x', { time: '2024-01-14T11:00:00Z' }, { rfc3164TimeZone: 'Europe/Berlin' });
    // Clocks go back at 03:00 CEST on 2024-10-27: 02:30 happens twice, the earlier (CEST) is taken.
    check(
      '<13>Oct 27 02:30:00 h a: x',
      { time: '2024-10-27T00:30:00Z' },
      { rfc3164TimeZone: 'Europe/Berlin', now: new Date('2024-10-28T00:00:00Z') },
    );
    check('<13>2024-07-14T12:00:00Z h a: x', { time: '2024-07-14T12:00:00Z' }, { rfc3164TimeZone: 'Europe/Berlin' });
    check('<13>Jul 14 12:00:00 h a: x', { time: null, hostname: null }, { rfc3164TimeZone: 'Mars/Olympus_Mons' });
    check(
      '<189>1: Jul 14 12:00:00 UTC: %X-1-Y: z',
      { time: '2024-07-14T12:00:00Z' },
      { rfc3164TimeZone: 'Mars/Olympus_Mons' },
    );
    assert.equal(isValidTimeZone('Europe/Berlin'), true);
    assert.equal(isValidTimeZone('UTC'), true);
    assert.equal(isValidTimeZone('local'), true);
    assert.equal(isValidTimeZone('Mars/Olympus_Mons'), false);
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
    check(
      Buffer.concat([Buffer.from('<13>Jun 14 12:00:00 h a: '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x')]),
      { message: 'x' },
    );
  });
});
