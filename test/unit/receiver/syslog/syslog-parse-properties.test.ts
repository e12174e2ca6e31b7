import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSyslog } from '../../../../receiver/syslog/parse-syslog.js';
import { SyslogParseError, type StructuredData } from '../../../../receiver/syslog/syslog-message.js';
import { checkParse, syslogLineArb } from '../../../../testkit/syslog-fuzz-generators.js';

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const NOW = new Date('2024-06-15T12:00:00Z');
/** What parse-syslog.ts's isOtherVersion refuses: a VERSION other than 1, SP, then a NILVALUE or a year. */
const OTHER_VERSION_HEADER = /^(?!0)(?!1 )\d{1,3} (- |\d{4}-)/;

const charIn = (min: number, max: number, except = '') =>
  fc
    .integer({ min, max })
    .map((c) => String.fromCharCode(c))
    .filter((c) => !except.includes(c));
const printable = (maxLength: number) => fc.string({ unit: charIn(0x21, 0x7e), minLength: 1, maxLength });
const sdName = fc.string({ unit: charIn(0x21, 0x7e, '= ]"'), minLength: 1, maxLength: 32 });

// Inputs that reach deep into the parsers, not only the PRI check.
const prefixes = [
  '',
  '<13>',
  '<165>1 ',
  '<0>1 - ',
  '<14>1 2024-02-29T23:59:59.5+01:00 h a p m ',
  '<1>1 - - - - - [a b="',
  '<13>Jan  2 03:04:05 ',
  '<13>2024-01-02T03:04:05',
  '<189>1: *Mar  1 00:00:12.345',
  '<34>2 ',
].map((p) => Buffer.from(p));

describe('parseSyslog properties', () => {
  it('never throws, and every answer is well formed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...prefixes),
        fc.uint8Array({ maxLength: 200 }),
        fc.date(),
        fc.constantFrom<'UTC' | 'local'>('UTC', 'local'),
        (prefix, tail, now, rfc3164TimeZone) => {
          const line = Buffer.concat([prefix, tail]);
          const r = parseSyslog(line, { now, rfc3164TimeZone });
          if (r.ok) {
            const m = r.message;
            assert.ok(m.format === 'rfc5424' || m.format === 'rfc3164');
            assert.ok(Number.isInteger(m.facility) && m.facility >= 0 && m.facility <= 23);
            assert.ok(Number.isInteger(m.severity) && m.severity >= 0 && m.severity <= 7);
            assert.ok(m.time === null || ISO_UTC.test(m.time), `time ${m.time}`);
            assert.equal(typeof m.message, 'string');
          } else {
            assert.ok(r.error instanceof SyslogParseError);
            assert.notEqual(r.error.code, 'INTERNAL', r.error.message);
            assert.ok(r.error.offset >= 0 && r.error.offset <= line.length, `offset ${r.error.offset}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('RFC 3164: the text after PRI is never lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.constantFrom(...prefixes.slice(6)),
        fc.uint8Array({ maxLength: 120 }),
        (pri, stamp, tail) => {
          const body = Buffer.concat([stamp.subarray(stamp.indexOf('>') + 1), tail]);
          const r = parseSyslog(Buffer.concat([Buffer.from(`<${pri}>`), body]), { now: NOW });
          // `2 - …` or `2 2024-…` is an RFC 5424 header with a VERSION fanin does not read: refused, not RFC 3164.
          if (OTHER_VERSION_HEADER.test(body.toString('latin1'))) {
            assert.ok(!r.ok && r.error.code === 'BAD_VERSION');
            return;
          }
          assert.ok(r.ok && r.message.format === 'rfc3164');
          const text = body.toString('utf8');
          assert.ok(text.endsWith(r.message.message), 'MSG is the tail of the line');
          if (r.message.time === null && r.message.appName === null) assert.equal(r.message.message, text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never loses the message text: any line, any format, PRI or not (MSG is its tail, or it travels raw whole)', () => {
    fc.assert(
      fc.property(syslogLineArb, (line) => {
        checkParse(line, NOW, undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('RFC 5424: generated valid lines round-trip every field', () => {
    const timeArb = fc.option(
      fc.record({
        instant: fc.date({
          min: new Date('0001-01-02T00:00:00Z'),
          max: new Date('9998-12-30T00:00:00Z'),
          noInvalidDate: true,
        }),
        offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fraction: fc.string({ unit: charIn(0x30, 0x39), maxLength: 6 }),
      }),
    );
    const sdArb = fc.option(
      fc.uniqueArray(
        fc.tuple(sdName, fc.array(fc.tuple(sdName, fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 4 })),
        { minLength: 1, maxLength: 3, selector: ([id]) => id },
      ),
    );
    const lineArb = fc.record({
      pri: fc.integer({ min: 0, max: 191 }),
      time: timeArb,
      hostname: printable(255),
      appName: printable(48),
      procId: printable(128),
      msgId: printable(32),
      sd: sdArb,
      msg: fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
      bom: fc.boolean(),
    });
    fc.assert(
      fc.property(lineArb, (g) => {
        let stamp = '-';
        let time: string | null = null;
        if (g.time !== null) {
          const seconds = Math.floor(g.time.instant.getTime() / 1000) * 1000;
          const frac = g.time.fraction === '' ? '' : `.${g.time.fraction}`;
          const off = g.time.offsetMinutes;
          const offText = `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
          stamp = new Date(seconds + off * 60000).toISOString().slice(0, 19) + frac + offText;
          time = new Date(seconds).toISOString().slice(0, 19) + frac + 'Z';
        }
        const sdText =
          g.sd === null
            ? '-'
            : g.sd.map(([id, ps]) => `[${id}${ps.map(([n, v]) => ` ${n}="${escape(v)}"`).join('')}]`).join('');
        const msgText = g.msg === null ? '' : ` ${g.bom ? '\uFEFF' : ''}${g.msg}`;
        const line = `<${g.pri}>1 ${stamp} ${g.hostname} ${g.appName} ${g.procId} ${g.msgId} ${sdText}${msgText}`;

        const r = parseSyslog(Buffer.from(line), { now: NOW });
        if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message} in ${JSON.stringify(line)}`);
        const m = r.message;
        const nil = (s: string) => (s === '-' ? null : s);
        const message = g.msg === null ? '' : !g.bom && g.msg.startsWith('\uFEFF') ? g.msg.slice(1) : g.msg;
        assert.deepEqual(m, {
          format: 'rfc5424',
          facility: g.pri >> 3,
          severity: g.pri & 7,
          time,
          hostname: nil(g.hostname),
          appName: nil(g.appName),
          procId: nil(g.procId),
          msgId: nil(g.msgId),
          structuredData: g.sd === null ? null : expectedSd(g.sd),
          message,
        });
      }),
      { numRuns: 1000 },
    );
  });
});

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function escape(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Built through Maps and Object.fromEntries, which defines own keys even for a generated `__proto__`. */
function expectedSd(elements: [string, [string, string][]][]): StructuredData {
  const sd = new Map<string, Map<string, string | string[]>>();
  for (const [id, params] of elements) {
    const out = new Map<string, string | string[]>();
    sd.set(id, out);
    for (const [name, value] of params) {
      const prev = out.get(name);
      out.set(name, prev === undefined ? value : typeof prev === 'string' ? [prev, value] : [...prev, value]);
    }
  }
  return Object.fromEntries([...sd].map(([id, params]) => [id, Object.fromEntries(params)]));
}
