import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatEventLine, hourlyFileName, isEnvelope } from '../../../uploader/ndjson/ndjson-line.js';

describe('file sink lines', () => {
  it('puts the id first and formats received_at as ISO 8601', () => {
    const line = formatEventLine('abc-1', {
      tag: 'syslog.user.notice',
      time: '2026-01-02T03:04:05.000Z',
      received_at: Date.UTC(2026, 0, 2, 3, 4, 6),
      receiver: 'a',
      source: '10.0.0.1',
      transport: 'udp',
      format: 'rfc3164',
      message: 'hi',
      facility: 'user',
      severity: 'notice',
    });
    assert.ok(line.endsWith('\n'));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(Object.keys(parsed)[0], 'id');
    assert.equal(parsed.received_at, '2026-01-02T03:04:06.000Z');
    assert.equal(parsed.facility, 'user');
  });

  it("keeps the envelope's other fields in their order after the leading ones, and each line its own receipt time", () => {
    const base = {
      tag: 't',
      time: null,
      receiver: 'a',
      source: null,
      transport: 'tcp',
      format: 'raw',
      message: 'm',
    } as const;
    const first = JSON.parse(
      formatEventLine('x-1', { ...base, received_at: 0, parse_error: 'E', hostname: 'h' }),
    ) as Record<string, unknown>;
    const second = JSON.parse(formatEventLine('x-2', { hostname: 'h2', ...base, received_at: 1000 })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(first), [
      'id',
      'tag',
      'time',
      'received_at',
      'receiver',
      'source',
      'transport',
      'format',
      'message',
      'parse_error',
      'hostname',
    ]);
    assert.deepEqual(Object.keys(second).slice(-1), ['hostname']);
    assert.equal(first.received_at, '1970-01-01T00:00:00.000Z');
    assert.equal(second.received_at, '1970-01-01T00:00:01.000Z');
  });

  it('does not take a body with an impossible receipt time for an envelope (it is quarantined, not retried forever)', () => {
    const base = { tag: 't', receiver: 'a', format: 'raw' };
    assert.equal(isEnvelope({ ...base, received_at: 1_795_411_541_557 }), true);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 9e15, '1'])
      assert.equal(isEnvelope({ ...base, received_at: bad }), false, String(bad));
  });

  it('files events by UTC hour of receipt', () => {
    assert.equal(hourlyFileName(Date.UTC(2026, 10, 23, 2, 59, 59)), 'events.2026-11-23-02.ndjson');
  });
});
