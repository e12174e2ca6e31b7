import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeSyslogFrame } from '../../../receiver/syslog-event.js';
import { encodeBody } from '../../../shared/batch-codec.js';
import { decodeEvent } from '../../../uploader/decoded-events.js';
import { formatEventLine } from '../../../uploader/ndjson/ndjson-line.js';
import { ndjsonTime } from '../../../uploader/ndjson/ndjson-time.js';
import { transcodeEventLine } from '../../../uploader/ndjson/ndjson-transcoder.js';
import { forwardEvent } from '../../../testkit/sink-fixtures.js';

/** docs/sinks.md, "time": RFC 3339 UTC with 0, 3, 6 or 9 fraction digits. */
const DOCUMENTED_SHAPE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$/;

function lineOf(
  id: string,
  body: Uint8Array,
): { general: Record<string, unknown>; generalText: string; fastText: string | undefined } {
  const d = decodeEvent(id, body);
  assert.ok('envelope' in d);
  const generalText = formatEventLine(id, d.envelope);
  return {
    general: JSON.parse(generalText) as Record<string, unknown>,
    generalText,
    fastText: transcodeEventLine(id, body)?.line.toString('utf8'),
  };
}

describe('NDJSON event time: one documented shape', () => {
  it('pads a fraction to whole milli-, micro- or nanoseconds and keeps every digit the source gave', () => {
    const base = '2026-12-07T12:13:39';
    assert.equal(ndjsonTime(`${base}Z`), `${base}Z`);
    const expected = [
      '',
      '.400',
      '.450',
      '.456',
      '.456700',
      '.456780',
      '.456789',
      '.456789100',
      '.456789120',
      '.456789123',
    ];
    for (let digits = 1; digits <= 9; digits++) {
      const written = ndjsonTime(`${base}.${'456789123'.slice(0, digits)}Z`);
      assert.equal(written, `${base}${expected[digits]}Z`, `${digits} digits`);
      assert.match(written, DOCUMENTED_SHAPE);
    }
  });

  it('leaves a time of any other shape as it came (a body fanin did not write)', () => {
    for (const t of [
      '2026-12-07T12:13:39.4+02:00',
      '2026-12-07 12:13:39.4Z',
      'yesterday',
      '2026-12-07T12:13:39.Z',
      '',
      '2026-12-07T12:13:39.4z',
      '2026-12-07T12:13:39.１Z',
      '2026-12-07T12:13:39.1234567890Z',
    ]) {
      assert.equal(ndjsonTime(t), t);
    }
  });

  it('writes a syslog stamp of every fraction width in the documented shape, fast path and general path alike', () => {
    const ctx = { receiverId: 'a', source: '192.0.2.1', transport: 'tcp', hashSourceAddress: true } as const;
    for (const fraction of ['', '.4', '.42', '.420', '.4203', '.42033', '.420335']) {
      const frame = Buffer.from(`<34>1 2026-12-07T12:13:39${fraction}Z host app - - - message`);
      const body = encodeSyslogFrame(frame, ctx, new Date(1_796_645_619_420)).body;
      const { general, generalText, fastText } = lineOf('0123abcd-1', body);
      assert.equal(fastText, generalText, `byte for byte, fraction "${fraction}"`);
      assert.match(String(general.time), DOCUMENTED_SHAPE);
      assert.equal(Date.parse(String(general.time)), Date.parse(`2026-12-07T12:13:39${fraction}Z`), 'the same instant');
      assert.equal(general.received_at, '2026-12-07T12:13:39.420Z');
    }
  });

  it('agrees with the general path on generated times near the shape, in map bodies', () => {
    const digits = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const nearShape = fc
      .tuple(
        digits(4, 4),
        digits(2, 2),
        digits(2, 2),
        digits(2, 2),
        digits(2, 2),
        digits(2, 2),
        digits(0, 10),
        fc.constantFrom('Z', 'z', '+00:00', ''),
        fc.constantFrom('T', ' ', 'T', 'T'),
        fc.constantFrom('.', '.', ','),
      )
      .map(
        ([y, mo, d, h, mi, s, f, zone, t, dot]) =>
          `${y}-${mo}-${d}${t}${h}:${mi}:${s}${f === '' ? '' : dot + f}${zone}`,
      );
    let padded = 0;
    fc.assert(
      fc.property(nearShape, (time) => {
        const body = encodeBody({ ...forwardEvent(1, 1_796_645_619_420), time });
        const { general, generalText, fastText } = lineOf('0123abcd-1', body);
        assert.equal(fastText, generalText);
        if (general.time !== time) {
          padded++;
          assert.match(String(general.time), DOCUMENTED_SHAPE);
        }
      }),
      { numRuns: 2000 },
    );
    assert.ok(padded > 100, `some generated times were padded (${padded})`);
  });
});
