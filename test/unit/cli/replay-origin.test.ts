import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deadLetterOrigin, targetOf } from '../../../cli/replay/dead-letter-origin.js';
import { reasonFilter, sinkFilter } from '../../../cli/replay/replay-options.js';
import { ReplayTally } from '../../../cli/replay/replay-tally.js';
import { secondaryLineEvent } from '../../../cli/replay/secondary-line.js';
import { UsageError } from '../../../cli/usage-error.js';
import { decodeBody, encodeBody } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { formatEventLine } from '../../../uploader/ndjson/ndjson-line.js';

describe('replay: where a dead letter came from and why', () => {
  it("reads fanin's own headers: a sink that refused, an undecodable batch, a worker's new batch", () => {
    assert.deepEqual(
      deadLetterOrigin('ns', {
        'x-fanin-reason': 'sink pg: PostgreSQL refused the batch: value too long',
        'x-fanin-stage': 'uploader:pg',
        'x-fanin-queue': 'ns.sink.pg',
      }),
      {
        target: { kind: 'sink', sink: 'pg', queue: 'ns.sink.pg' },
        reason: 'refused',
        detail: 'sink pg: PostgreSQL refused the batch: value too long',
      },
    );
    assert.equal(
      deadLetterOrigin('ns', { 'x-fanin-reason': 'processed batch: not msgpack: x', 'x-fanin-queue': 'ns.sink.file' })
        .reason,
      'undecodable',
    );
    const worker = deadLetterOrigin('ns', {
      'x-fanin-reason': 'new batch: unsupported version 9 with 6 fields',
      'x-fanin-stage': 'dedup-worker',
      'x-fanin-queue': 'ns.new.3',
    });
    assert.deepEqual(worker.target, { kind: 'new', queue: 'ns.new.3' });
    assert.equal(worker.reason, 'undecodable');
  });

  it("reads RabbitMQ's x-death when the broker dead-lettered (the first death is the last entry)", () => {
    const o = deadLetterOrigin('ns', {
      'x-death': [
        { queue: 'ns.dead', reason: 'rejected', count: 1 },
        { queue: Buffer.from('ns.sink.search'), reason: 'delivery_limit', count: 1 },
      ],
    });
    assert.deepEqual(o.target, { kind: 'sink', sink: 'search', queue: 'ns.sink.search' });
    assert.equal(o.reason, 'delivery_limit');
    assert.equal(
      deadLetterOrigin('ns', { 'x-first-death-queue': 'ns.new', 'x-first-death-reason': 'expired' }).reason,
      'expired',
    );
  });

  it('names what it cannot place: no headers, another namespace, a reason it does not know', () => {
    assert.deepEqual(deadLetterOrigin('ns', undefined), {
      target: { kind: 'unknown', queue: null },
      reason: 'other',
      detail: 'no x-fanin-reason or x-death header',
    });
    assert.deepEqual(targetOf('ns', 'other.sink.pg'), { kind: 'unknown', queue: 'other.sink.pg' });
    assert.deepEqual(
      targetOf('n.s', 'nxs.new'),
      { kind: 'unknown', queue: 'nxs.new' },
      "the namespace's dots are literal",
    );
    assert.deepEqual(targetOf('ns', 'ns.sink.Bad Name'), { kind: 'unknown', queue: 'ns.sink.Bad Name' });
    assert.equal(
      deadLetterOrigin('ns', { 'x-fanin-reason': 'something new', 'x-fanin-queue': 'ns.sink.a' }).reason,
      'other',
    );
  });
});

describe("replay: a secondary file's line back to its event", () => {
  const envelope: EventEnvelope = {
    tag: 'syslog.local0.info',
    time: '2026-11-23T02:34:14.301Z',
    received_at: 1_795_000_000_123,
    receiver: 'a',
    source: '127.0.0.1',
    transport: 'tcp',
    format: 'rfc5424',
    message: 'hello ünïcode',
    facility: 'local0',
    severity: 'info',
    hostname: 'web1',
    app_name: 'app',
    proc_id: '7169',
    msg_id: null,
    structured_data: { 'x@1': { k: ['v1', 'v2'] } },
  };

  it('gives back the id and an envelope the file sink writes as the same line', () => {
    const line = formatEventLine('abc-1', envelope);
    const event = secondaryLineEvent(line.trimEnd());
    assert.ok(!('error' in event));
    assert.equal(event.id, 'abc-1');
    assert.deepEqual(decodeBody(event.body), envelope);
    assert.equal(formatEventLine(event.id, decodeBody(event.body) as EventEnvelope), line);
  });

  it('keeps a Forward record and its field order', () => {
    const forward = {
      tag: 'app.web',
      time: null,
      received_at: 5,
      receiver: 'b',
      source: null,
      transport: 'forward',
      format: 'forward',
      message: null,
      record: { user: { plan: 'pro' }, n: 1.5, list: [1, 'x', null] },
    };
    const event = secondaryLineEvent(formatEventLine('f-2', forward as EventEnvelope).trimEnd());
    assert.ok(!('error' in event));
    assert.deepEqual(Object.keys(decodeBody(event.body) as object), Object.keys(forward));
    assert.deepEqual(event.body, encodeBody(forward));
  });

  it('says why a line is no event instead of throwing', () => {
    const cases: [string, RegExp][] = [
      ['{"id":"x-1","tag":', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['{"tag":"t","received_at":"2026-01-01T00:00:00.000Z","receiver":"a","format":"raw"}', /no event id/],
      ['{"id":"x-1","tag":"t","received_at":12,"receiver":"a","format":"raw"}', /ISO 8601/],
      ['{"id":"x-1","tag":"t","received_at":"yesterday","receiver":"a","format":"raw"}', /not a time/],
      [
        '{"id":"x-1","received_at":"2026-01-01T00:00:00.000Z","receiver":"a","format":"raw"}',
        /tag, receiver and format/,
      ],
    ];
    for (const [line, reason] of cases) {
      const r = secondaryLineEvent(line);
      assert.ok('error' in r, line);
      assert.match(r.error, reason, line);
    }
  });
});

describe('replay: options and summary', () => {
  it('refuses an unknown sink or reason, naming what exists', () => {
    assert.throws(
      () => sinkFilter('pg,nope', ['file', 'pg']),
      (e: unknown) => e instanceof UsageError && /unknown sink "nope".*file, pg/.test(e.message),
    );
    assert.throws(
      () => reasonFilter('refused,bogus'),
      (e: unknown) => e instanceof UsageError && /unknown reason "bogus"/.test(e.message),
    );
    assert.deepEqual([...sinkFilter(' pg ,file', ['file', 'pg'])!], ['pg', 'file']);
    assert.equal(sinkFilter(undefined, ['file']), null);
    assert.deepEqual([...reasonFilter('secondary')!], ['secondary']);
  });

  it('sums batches and events per source, sink and reason, and lists what was left and why', () => {
    const t = new ReplayTally(true);
    t.addReplayed('dead', 'search', 'refused', 25);
    t.addReplayed('dead', 'search', 'refused', 25);
    t.addReplayed('secondary', 'bulk', 'secondary', 500);
    t.addLeft('from ns.new (--new replays it there)', 3);
    t.addBadLine('f.ndjson@0', 'not JSON');
    const s = t.summary();
    assert.match(s, /^replay --dry-run: nothing was moved/);
    assert.match(s, /dead +search +refused +2 +50/);
    assert.match(s, /secondary +bulk +secondary +1 +500/);
    assert.match(s, /total: 3 batches, 550 events/);
    assert.match(s, /from ns\.new \(--new replays it there\) +1 +3/);
    assert.match(s, /skipped 1 lines.*\n {2}f\.ndjson@0: not JSON/);
    t.deadTotal = 10;
    t.deadSeen = 4;
    assert.equal(t.progressLine(2000), 'replay: 2s: dead 4/10, would replay 3 batches (550 events), left 1');
  });
});
