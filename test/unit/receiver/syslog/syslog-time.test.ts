import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSyslog } from '../../../../receiver/syslog/parse-syslog.js';
import { NO_DIGITS, formatIso, isoString } from '../../../../receiver/syslog/syslog-time.js';

const NOW = new Date('2024-06-15T12:00:00Z');

function timeOf(line: string): string | null {
  const result = parseSyslog(Buffer.from(line), { now: NOW });
  assert.ok(result.ok, line);
  return result.message.time;
}

/** The ISO form every stamp must come out in, from Date, with the sender's fraction digits (at most 6) kept. */
function expectedIso(epochMs: number, digits: string): string {
  const whole = new Date(epochMs).toISOString().slice(0, 19);
  const kept = digits.slice(0, 6);
  return kept === '' ? `${whole}Z` : `${whole}.${kept}Z`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('syslog times', () => {
  it('formatIso writes every fraction length from the sender bytes, and no fraction without digits', () => {
    const digits = Buffer.from('x9876543');
    assert.equal(formatIso(2024, 2, 29, 23, 59, 58, NO_DIGITS, 0, 0), '2024-02-29T23:59:58Z');
    for (let n = 1; n <= 6; n++) {
      assert.equal(formatIso(7, 1, 2, 3, 4, 5, digits, 1, n), `0007-01-02T03:04:05.${'987654'.slice(0, n)}Z`);
    }
    assert.equal(formatIso(10_000, 1, 1, 0, 0, 0, NO_DIGITS, 0, 0), null);
    assert.equal(isoString(Date.UTC(1999, 11, 31, 23, 59, 59), digits, 2, 3), '1999-12-31T23:59:59.876Z');
  });

  it('keeps the fraction digits the sender wrote, in every stamp shape and offset', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2030-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.stringMatching(/^[0-9]{0,7}$/),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (date, digits, offsetMinutes) => {
          const wholeMs = Math.floor(date.getTime() / 1000) * 1000;
          const local = new Date(wholeMs + offsetMinutes * 60_000);
          const wall =
            `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
            `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
          const fraction = digits === '' ? '' : `.${digits}`;
          const want = expectedIso(wholeMs, digits);
          // RFC 5424 takes 1 to 6 digits; the RFC 3339 stamps of RFC 3164 lines also take longer ones, cut to 6.
          if (digits.length <= 6) {
            assert.equal(timeOf(`<13>1 ${wall}${fraction}${offset} h a - - - m`), want);
            if (offsetMinutes === 0) assert.equal(timeOf(`<13>1 ${wall}${fraction}Z h a - - - m`), want);
          }
          assert.equal(timeOf(`<13>${wall.replace('T', ' ')}${fraction}${offset} host app: m`), want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a BSD stamp with a fraction of any length in the configured zone', () => {
    for (let n = 1; n <= 8; n++) {
      const digits = '12345678'.slice(0, n);
      assert.equal(
        timeOf(`<189>1: Jun  2 03:04:05.${digits} UTC: %LINK-3-UPDOWN: up`),
        `2024-06-02T03:04:05.${digits.slice(0, 6)}Z`,
      );
      assert.equal(
        timeOf(`<189>1: Jun  2 03:04:05.${digits} CEST: %LINK-3-UPDOWN: up`),
        `2024-06-02T01:04:05.${digits.slice(0, 6)}Z`,
      );
    }
  });
});
