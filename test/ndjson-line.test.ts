import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatEventLine, hourlyFileName } from '../uploader/file-sink/ndjson-line.js';

describe('file sink lines', () => {
  it('puts the id first and formats received_at as ISO 8601', () => {
    const line = formatEventLine('abc-1', {
      tag: 'syslog.user.notice', time: '2026-01-02T03:04:05.000Z', received_at: Date.UTC(2026, 0, 2, 3, 4, 6), receiver: 'a',
      source: '10.0.0.1', transport: 'udp', format: 'rfc3164', message: 'hi', facility: 'user', severity: 'notice',
    });
    assert.ok(line.endsWith('\n'));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(Object.keys(parsed)[0], 'id');
    assert.equal(parsed.received_at, '2026-01-02T03:04:06.000Z');
    assert.equal(parsed.facility, 'user');
  });

  it('files events by UTC hour of receipt', () => {
    assert.equal(hourlyFileName(Date.UTC(2026, 10, 23, 2, 59, 59)), 'events.2026-11-23-02.ndjson');
  });
});
