import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMulti, encode } from '@msgpack/msgpack';
import { classifyReplica, type ReplicationConfig } from '../../../../receiver/forward/replica.js';
import { encodeForwardEntries } from '../../../../receiver/forward/forward-event.js';
import { EventBatcher, type SealedBatch } from '../../../../receiver/event-batcher.js';
import { decodeBody, decodeNewEventBatch, encodeNewEventBatch } from '../../../../shared/batch-codec.js';
import { ConfigError } from '../../../../shared/config/config-error.js';
import type { EventEnvelope } from '../../../../shared/envelope.js';
import { isEventId, replicaEventKey } from '../../../../shared/event-key.js';
import { passThroughBatch } from '../../../../dedup-worker/pass-through.js';
import { selectUnique } from '../../../../dedup-worker/batch-decision.js';
import { buildChunks } from '../../../../uploader/forward-sink/forward-entries.js';
import { forwardSinkOptionsFromConfig } from '../../../../uploader/forward-sink/forward-sink-config.js';
import { batchOf, forwardEnvelope, sinkSettings, syslogEnvelope } from '../../../support/forward-fixtures.js';

const ID_1 = '254bdfedefe9d7c1be595b7912728ae8-1';
const ID_2 = '0123456789abcdef0123456789abcdef-2';
const AT_B: ReplicationConfig = { fleetId: 'B', idKey: 'fanin_id', pathKey: 'fanin_path' };

describe('replication: what a Forward input makes of a record', () => {
  it('an ordinary record (no path key) stays ordinary, even with an id key', () => {
    assert.deepEqual(classifyReplica({ message: 'x', fanin_id: ID_1 }, AT_B), { kind: 'ordinary' });
  });

  it('a replica: original id and path read, both keys taken out of the record', () => {
    assert.deepEqual(classifyReplica({ message: 'x', fanin_id: ID_1, fanin_path: ['A', 'C'] }, AT_B), {
      kind: 'replica',
      originId: ID_1,
      path: ['A', 'C'],
      record: { message: 'x' },
    });
  });

  it('a path that holds this fleet is a loop', () => {
    assert.deepEqual(classifyReplica({ fanin_id: ID_1, fanin_path: ['B', 'A'] }, AT_B), { kind: 'loop' });
  });

  it('a path key without a valid path or id is invalid (the caller keeps the record as it is)', () => {
    for (const record of [
      { fanin_id: ID_1, fanin_path: 'A' },
      { fanin_id: ID_1, fanin_path: [] },
      { fanin_id: ID_1, fanin_path: ['A', 7] },
      { fanin_id: ID_1, fanin_path: ['a:b'] },
      { fanin_id: ID_1, fanin_path: Array.from({ length: 33 }, (_, i) => `f${i}`) },
      { fanin_path: ['A'] },
      { fanin_id: 'not-an-id', fanin_path: ['A'] },
      { fanin_id: `${ID_1}0000000000`, fanin_path: ['A'] },
    ])
      assert.deepEqual(classifyReplica(record, AT_B), { kind: 'invalid' }, JSON.stringify(record));
  });

  it('configurable keys', () => {
    const c = classifyReplica(
      { origin: ID_2, via: ['X'], fanin_path: 'kept' },
      { fleetId: 'B', idKey: 'origin', pathKey: 'via' },
    );
    assert.deepEqual(c, { kind: 'replica', originId: ID_2, path: ['X'], record: { fanin_path: 'kept' } });
  });

  it('event ids: the form a worker writes, nothing else', () => {
    assert.ok(isEventId(ID_1) && isEventId(ID_2));
    for (const bad of ['', `${ID_1.slice(1)}`, ID_1.toUpperCase(), ID_1.replace('-1', '-0'), `${ID_1} `])
      assert.ok(!isEventId(bad), bad);
  });
});

describe('replication: Forward entries to events', () => {
  const now = new Date(1_772_360_431_000);
  const entry = (record: Record<string, unknown>, time = '2026-03-01T10:20:30.000000001Z') => ({
    time,
    metadata: null,
    record,
  });

  it('keys a replica by its original id alone, carries the path, drops loops, counts each kind', () => {
    const out = encodeForwardEntries(
      'app.web',
      [
        entry({ n: 1, fanin_id: ID_1, fanin_path: ['A'] }),
        entry({ n: 1, other: 'bytes', fanin_id: ID_1, fanin_path: ['A', 'C'] }, '2030-01-01T00:00:00.000000000Z'),
        entry({ n: 2, fanin_id: ID_2, fanin_path: ['A', 'B'] }),
        entry({ n: 3, fanin_path: 'broken' }),
        entry({ n: 4 }),
      ],
      '10.0.0.9',
      'a',
      now,
      AT_B,
    );
    assert.deepEqual([out.replicas, out.loops, out.invalid, out.events.length], [2, 1, 1, 4]);
    const [r1, r2, bad, plain] = out.events as [
      (typeof out.events)[0],
      (typeof out.events)[0],
      (typeof out.events)[0],
      (typeof out.events)[0],
    ];
    assert.deepEqual(r1.key, replicaEventKey(ID_1));
    assert.deepEqual(r2.key, r1.key, 'the same original id is the same event, whatever its bytes on this path');
    assert.equal(r1.origin, ID_1);
    const body = decodeBody(r2.body) as EventEnvelope;
    assert.deepEqual(body.record, { n: 1, other: 'bytes' });
    assert.deepEqual(body.fleet_path, ['A', 'C']);
    assert.equal(bad.origin, undefined);
    assert.deepEqual(
      (decodeBody(bad.body) as EventEnvelope).record,
      { n: 3, fanin_path: 'broken' },
      'an invalid record is kept as sent',
    );
    assert.equal(plain.origin, undefined);
    assert.equal((decodeBody(plain.body) as EventEnvelope).fleet_path, undefined);
  });

  it('without replication (no fleet id) a record with a path is an ordinary event', () => {
    const out = encodeForwardEntries('app.web', [entry({ fanin_id: ID_1, fanin_path: ['B'] })], null, 'a', now, null);
    assert.deepEqual([out.replicas, out.loops, out.invalid], [0, 0, 0]);
    assert.notDeepEqual(out.events[0]!.key, replicaEventKey(ID_1));
    assert.deepEqual((decodeBody(out.events[0]!.body) as EventEnvelope).record, { fanin_id: ID_1, fanin_path: ['B'] });
  });
});

describe('replication: batches carry original ids', () => {
  const keys = Buffer.alloc(48, 1);
  const bodies = [Buffer.from('x'), Buffer.from('y'), Buffer.from('z')];

  it('version 4 with origins, 2 or 1 without; origins read back in place', () => {
    const v4 = encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, origins: [null, ID_1, null] });
    assert.equal(v4[1], 4);
    const d = decodeNewEventBatch(v4);
    assert.deepEqual(d.origins, [null, ID_1, null]);
    assert.deepEqual(d.chunks ?? [], []);
    assert.equal(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, origins: [null, null, null] })[1],
      1,
    );
    const withChunks = encodeNewEventBatch({
      receiverId: 'a',
      bootId: 'b',
      seq: 1,
      keys,
      bodies,
      chunks: [{ id: Buffer.alloc(16, 2), first: 0, end: 3 }],
      origins: [ID_1, ID_2, null],
    });
    assert.deepEqual(
      decodeNewEventBatch(withChunks).chunks?.map((c) => [c.first, c.end]),
      [[0, 3]],
    );
  });

  it('version 4 carries route keys and origins together, and routes may be absent', () => {
    const routes = { tags: ['app.a', 'app.b'], keys: Buffer.from([0, 0, 3, 0, 1, 0xff, 0, 0, 6]) };
    const both = decodeNewEventBatch(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, routes, origins: [ID_1, null, ID_2] }),
    );
    assert.deepEqual(both.origins, [ID_1, null, ID_2]);
    assert.deepEqual(both.routes?.tags, ['app.a', 'app.b']);
    assert.deepEqual([...(both.routes?.keys ?? [])], [...routes.keys]);
    const noRoutes = decodeNewEventBatch(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, origins: [ID_1, null, null] }),
    );
    assert.equal(noRoutes.routes, undefined);
    assert.deepEqual(noRoutes.origins, [ID_1, null, null]);
  });

  it('a worker publishes a replicated event under its original id, with Redis and without (pass-through)', () => {
    const b = { receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, origins: [null, ID_1, null] };
    const decided = selectUnique(b, [
      { partition: 0, indices: [0, 1, 2], occurrences: [2, 1, 0], reused: false, published: false, chunkResends: 0 },
    ]);
    assert.deepEqual(decided.ids, [`${'01'.repeat(16)}-2`, ID_1]);
    assert.deepEqual(passThroughBatch(b).ids, [`${'01'.repeat(16)}-1`, ID_1, `${'01'.repeat(16)}-1`]);
  });

  it('refuses origins that are not ids, or not one per event', () => {
    const raw = (origins: unknown) => Buffer.from(encode([4, 'a', 'b', 1, keys, bodies, [], null, null, origins]));
    assert.throws(() => decodeNewEventBatch(raw([null, null])), /origins are not an array of 3/);
    assert.throws(() => decodeNewEventBatch(raw([null, 'x', null])), /not a fanin event id/);
    assert.throws(() => decodeNewEventBatch(raw('x')), /origins are not an array/);
  });

  it('the batcher keeps each origin at its event, across single events and chunks', () => {
    const sealed: SealedBatch[] = [];
    const b = new EventBatcher({ maxEvents: 100, maxBytes: 1e6, maxDelayMs: 1e6 }, (s) => sealed.push(s));
    const k = Buffer.alloc(16);
    b.add(k, Buffer.from('plain'));
    b.addGroup(
      [
        { key: k, body: Buffer.from('r1'), origin: ID_1 },
        { key: k, body: Buffer.from('p') },
      ],
      Buffer.from('c'),
    );
    b.add(k, Buffer.from('r2'), undefined, ID_2);
    b.flush();
    b.add(k, Buffer.from('plain again'));
    b.flush();
    assert.deepEqual(
      sealed.map((s) => s.origins),
      [[null, ID_1, null, ID_2], null],
    );
  });
});

describe('replication: the Forward sink on the way out', () => {
  const replica = (path: string[]) => forwardEnvelope({ n: 1 }, { fleet_path: path });
  const entriesOf = (c: { entries: Buffer }) => [...decodeMulti(c.entries)] as [unknown, Record<string, unknown>][];

  it('adds the path with this fleet last, keeps the original id, and leaves out excluded fleets (counted)', () => {
    const excluded = { count: 0 };
    const chunks = buildChunks(
      [
        batchOf('s:1', [
          [ID_1, forwardEnvelope({ n: 0 })],
          [ID_2, replica(['C'])],
          ['ffffffffffffffffffffffffffffffff-1', replica(['B', 'C'])],
        ]),
      ],
      'fanin_id',
      0,
      { path: { fleetId: 'A', key: 'fanin_path' }, exclude: new Set(['B']) },
      excluded,
    );
    const records = chunks.flatMap((c) => entriesOf(c).map(([, r]) => r));
    assert.deepEqual(records, [
      { n: 0, fanin_id: ID_1, fanin_path: ['A'] },
      { n: 1, fanin_id: ID_2, fanin_path: ['C', 'A'] },
    ]);
    assert.equal(excluded.count, 1);
  });

  it('a syslog event gets a path too; without replication no path is added', () => {
    const withPath = buildChunks([batchOf('s:2', [[ID_1, syslogEnvelope()]])], 'fanin_id', 0, {
      path: { fleetId: 'A', key: 'via' },
      exclude: new Set(),
    });
    assert.deepEqual(entriesOf(withPath[0]!)[0]![1].via, ['A']);
    const without = buildChunks([batchOf('s:3', [[ID_2, replica(['C'])]])], 'fanin_id');
    assert.equal(entriesOf(without[0]!)[0]![1].fanin_path, undefined);
  });

  it('validates the replication options with the key at fault', () => {
    const o = forwardSinkOptionsFromConfig(
      sinkSettings('h:1', { fleetId: 'A', forwardSinkPathKey: 'fanin_path', forwardSinkExcludeFleets: ' B , C' }),
    );
    assert.deepEqual(o.replication, { fleetId: 'A', pathKey: 'fanin_path' });
    assert.deepEqual([...o.excludeFleets], ['B', 'C']);
    assert.equal(
      forwardSinkOptionsFromConfig(sinkSettings('h:1', { fleetId: '', forwardSinkPathKey: 'fanin_path' })).replication,
      null,
      'no fleet id: no path',
    );
    assert.equal(
      forwardSinkOptionsFromConfig(sinkSettings('h:1', { fleetId: 'A', forwardSinkPathKey: '' })).replication,
      null,
    );
    const problems = (over: Parameters<typeof sinkSettings>[1]) => {
      try {
        forwardSinkOptionsFromConfig(sinkSettings('h:1', over));
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.join('\n');
        throw err;
      }
      return '';
    };
    assert.match(
      problems({ fleetId: 'A', forwardSinkPathKey: 'fanin_path', forwardSinkIdKey: '' }),
      /uploader\.forwardSink\.idKey: replication/,
    );
    assert.match(
      problems({ fleetId: 'A', forwardSinkPathKey: 'k', forwardSinkIdKey: 'k' }),
      /uploader\.forwardSink\.pathKey: must differ/,
    );
    assert.match(
      problems({ fleetId: 'A', forwardSinkExcludeFleets: 'A' }),
      /excludeFleets: lists this fleet's own id "A"/,
    );
  });
});
