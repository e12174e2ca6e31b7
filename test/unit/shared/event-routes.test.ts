import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { selectUnique } from '../../../dedup-worker/batch-decision.js';
import { passThroughBatch } from '../../../dedup-worker/pass-through.js';
import {
  decodeNewEventBatch,
  decodeProcessedBatch,
  encodeNewEventBatch,
  encodeProcessedBatch,
} from '../../../shared/batch-codec.js';
import {
  NO_SEVERITY,
  routeSeverityAt,
  routesOf,
  routeTagAt,
  UNKNOWN_TAG,
  type EventRoutes,
} from '../../../shared/event-route.js';
import { EventBatcher, type SealedBatch } from '../../../receiver/event-batcher.js';
import { encodeSyslogFrame } from '../../../receiver/syslog-event.js';
import { encodeStructuredEvent } from '../../../receiver/structured-event.js';

const tagsOf = (r: EventRoutes, n: number) => Array.from({ length: n }, (_, i) => routeTagAt(r, i));
const severitiesOf = (r: EventRoutes, n: number) => Array.from({ length: n }, (_, i) => routeSeverityAt(r, i));

describe('route keys from receiver to uploader', () => {
  const keys = Buffer.alloc(48, 7);
  const bodies = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
  const routes = routesOf([
    { tag: 'syslog.auth.info', severity: 6 },
    { tag: 'app.web', severity: NO_SEVERITY },
    { tag: 'syslog.auth.info', severity: 6 },
  ]);

  it('keeps one table of distinct tags and three bytes per event', () => {
    assert.deepEqual(routes.tags, ['syslog.auth.info', 'app.web']);
    assert.equal(routes.keys.byteLength, 9);
    assert.deepEqual(tagsOf(routes, 3), ['syslog.auth.info', 'app.web', 'syslog.auth.info']);
    assert.deepEqual(severitiesOf(routes, 3), [6, NO_SEVERITY, 6]);
    const unknown = routesOf([undefined, { tag: 'x', severity: 2 }]);
    assert.deepEqual(tagsOf(unknown, 2), [null, 'x']);
    assert.equal((unknown.keys[0]! << 8) | unknown.keys[1]!, UNKNOWN_TAG);
  });

  it('writes new batch version 3 with routes (and chunks), reads it back, and still reads versions 1 and 2', () => {
    const chunk = { id: Buffer.alloc(16, 3), first: 1, end: 3 };
    const v3 = encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, routes, chunks: [chunk] });
    assert.equal(v3[1], 3);
    const d = decodeNewEventBatch(v3);
    assert.deepEqual(tagsOf(d.routes!, 3), ['syslog.auth.info', 'app.web', 'syslog.auth.info']);
    assert.deepEqual(
      d.chunks?.map((c) => [c.first, c.end]),
      [[1, 3]],
    );
    const noChunks = decodeNewEventBatch(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 2, keys, bodies, routes }),
    );
    assert.equal(noChunks.chunks, undefined);
    assert.deepEqual(severitiesOf(noChunks.routes!, 3), [6, NO_SEVERITY, 6]);
    assert.equal(decodeNewEventBatch(encode([1, 'a', 'b', 3, keys, bodies])).routes, undefined);
    assert.equal(decodeNewEventBatch(encode([2, 'a', 'b', 3, keys, bodies, [[chunk.id, 0, 1]]])).routes, undefined);
  });

  it('writes processed batch version 2 with routes and still reads version 1', () => {
    const v2 = encodeProcessedBatch({ sourceBatchId: 's', ids: ['x', 'y', 'z'], bodies, routes });
    assert.equal(v2[1], 2);
    assert.deepEqual(tagsOf(decodeProcessedBatch(v2).routes!, 3), ['syslog.auth.info', 'app.web', 'syslog.auth.info']);
    const v1 = encodeProcessedBatch({ sourceBatchId: 's', ids: ['x', 'y', 'z'], bodies });
    assert.equal(v1[1], 1);
    assert.equal(decodeProcessedBatch(v1).routes, undefined);
  });

  it('refuses route keys that do not fit the batch', () => {
    assert.throws(
      () => decodeNewEventBatch(encode([3, 'a', 'b', 1, keys, bodies, [], ['t'], new Uint8Array(6)])),
      /route keys are not 3 × 3 bytes/,
    );
    assert.throws(
      () =>
        decodeNewEventBatch(
          encode([3, 'a', 'b', 1, keys, bodies, [], ['t'], Uint8Array.of(0, 1, 6, 0, 0, 6, 0, 0, 6)]),
        ),
      /names tag 1 of 1/,
    );
    assert.throws(
      () => decodeProcessedBatch(encode([2, 's', ['x'], [bodies[0]], [1], Uint8Array.of(0, 0, 6)])),
      /route tags are not an array of strings/,
    );
    assert.throws(
      () => decodeProcessedBatch(encode([1, 's', ['x'], [bodies[0]], ['t'], Uint8Array.of(0, 0, 6)])),
      /unsupported version 1/,
    );
  });

  it("has the worker pass on the unique events' routes, in order, and pass-through keep them all", () => {
    const batch = decodeNewEventBatch(
      encodeNewEventBatch({ receiverId: 'a', bootId: 'b', seq: 1, keys, bodies, routes }),
    );
    const selection = selectUnique(batch, [
      { partition: 0, indices: [0, 1, 2], occurrences: [0, 1, 2], reused: false, published: false, chunkResends: 0 },
    ]);
    assert.deepEqual(selection.ids.length, 2);
    assert.deepEqual(tagsOf(selection.routes!, 2), ['app.web', 'syslog.auth.info']);
    assert.deepEqual(severitiesOf(selection.routes!, 2), [NO_SEVERITY, 6]);
    const all = selectUnique(batch, [
      { partition: 0, indices: [0, 1, 2], occurrences: [1, 1, 1], reused: false, published: false, chunkResends: 0 },
    ]);
    assert.equal(all.routes, batch.routes);
    const old = decodeNewEventBatch(encode([1, 'a', 'b', 3, keys, bodies]));
    assert.equal(
      selectUnique(old, [
        { partition: 0, indices: [0, 1, 2], occurrences: [1, 0, 1], reused: false, published: false, chunkResends: 0 },
      ]).routes,
      undefined,
    );
    assert.equal(passThroughBatch(batch).routes, batch.routes);
  });

  it("has the receiver know each event's tag and severity: syslog, unparsed syslog, Forward/HTTP", () => {
    const ctx = { receiverId: 'a', source: '127.0.0.1', transport: 'udp' as const, hashSourceAddress: true };
    const now = new Date('2026-12-07T00:00:00Z');
    assert.deepEqual(encodeSyslogFrame(Buffer.from('<35>1 2026-12-07T00:00:00Z h app - - - x'), ctx, now).route, {
      tag: 'syslog.auth.err',
      severity: 3,
    });
    assert.deepEqual(encodeSyslogFrame(Buffer.from('<999>nope'), ctx, now).route, {
      tag: 'syslog.raw',
      severity: NO_SEVERITY,
    });
    const structured = encodeStructuredEvent(
      'app.web',
      null,
      { message: 'm' },
      { receiverId: 'a', source: null, transport: 'http', format: 'http' },
      now,
    );
    assert.deepEqual(structured.route, { tag: 'app.web', severity: NO_SEVERITY });
  });

  it('has the batcher seal each batch with its own routes, groups and oversized groups included', () => {
    const sealed: SealedBatch[] = [];
    const batcher = new EventBatcher({ maxEvents: 3, maxBytes: 1 << 20, maxDelayMs: 1000 }, (b) => sealed.push(b));
    const key = Buffer.alloc(16, 1);
    batcher.add(key, Buffer.from('a'), { tag: 't.one', severity: 1 });
    batcher.add(key, Buffer.from('b'));
    batcher.add(key, Buffer.from('c'), { tag: 't.two', severity: 2 });
    batcher.add(key, Buffer.from('d'), { tag: 't.three', severity: 3 });
    batcher.addGroup(
      [{ key, body: Buffer.from('e'), route: { tag: 'f.g', severity: NO_SEVERITY } }],
      Buffer.alloc(16, 2),
    );
    batcher.addGroup(
      Array.from({ length: 4 }, () => ({ key, body: Buffer.from('h'), route: { tag: 'big', severity: NO_SEVERITY } })),
      Buffer.alloc(16, 3),
    );
    batcher.flush();
    assert.deepEqual(
      sealed.map((b) => tagsOf(b.routes, b.bodies.length)),
      [
        ['t.one', null, 't.two'],
        ['t.three', 'f.g'],
        ['big', 'big', 'big', 'big'],
      ],
    );
    assert.deepEqual(sealed[0]!.routes.tags, ['t.one', 't.two'], 'a fresh table per batch');
    assert.deepEqual(severitiesOf(sealed[0]!.routes, 3), [1, NO_SEVERITY, 2]);
  });
});
