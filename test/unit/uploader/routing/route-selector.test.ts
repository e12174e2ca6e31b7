import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBody, type ProcessedBatch } from '../../../../shared/batch-codec.js';
import { NO_SEVERITY, routesOf, type RouteKey } from '../../../../shared/event-route.js';
import { RouteSelector, routeSelectors } from '../../../../uploader/routing/route-selector.js';
import { parseSeverity } from '../../../../uploader/routing/severity.js';
import { EVERY_EVENT, sinkRoute } from '../../../../uploader/routing/sink-route.js';

const events: [string, RouteKey][] = [
  ['auth-info', { tag: 'syslog.auth.info', severity: 6 }],
  ['auth-err', { tag: 'syslog.auth.err', severity: 3 }],
  ['local0-warn', { tag: 'syslog.local0.warn', severity: 4 }],
  ['local0-info', { tag: 'syslog.local0.info', severity: 6 }],
  ['app-web', { tag: 'app.web', severity: NO_SEVERITY }],
  ['app-debug', { tag: 'app.debug.x', severity: NO_SEVERITY }],
  ['other', { tag: 'other', severity: NO_SEVERITY }],
];

/** Bodies that would fail to decode: proves the route keys alone decide. */
function batchWithRoutes(): ProcessedBatch {
  return {
    sourceBatchId: 'b',
    ids: events.map(([id]) => id),
    bodies: events.map(() => Uint8Array.of(0xc1)),
    routes: routesOf(events.map(([, r]) => r)),
  };
}

/** The same events as an older worker sends them: no route keys, the tag and severity only in the bodies. */
function batchWithoutRoutes(): ProcessedBatch {
  const severityNames = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
  return {
    sourceBatchId: 'b',
    ids: events.map(([id]) => id),
    bodies: events.map(([, r]) =>
      encodeBody({
        tag: r.tag,
        time: null,
        received_at: 1,
        receiver: 'a',
        source: null,
        transport: 'udp',
        format: 'rfc5424',
        message: 'm',
        ...(r.severity === NO_SEVERITY ? {} : { severity: severityNames[r.severity] }),
      }),
    ),
  };
}

const auth = sinkRoute(['syslog.auth.**'], null, null);
const web = sinkRoute(['app.**', 'syslog.local0.**'], ['app.debug.**'], 4);

describe('routing a processed batch to sinks', () => {
  for (const [label, make] of [
    ['by route keys', batchWithRoutes],
    ['by the bodies of an older batch', batchWithoutRoutes],
  ] as const) {
    it(`keeps each sink's events and counts the rest once, ${label}`, () => {
      const [a, w] = routeSelectors([
        { route: auth, takesUnrouted: false },
        { route: web, takesUnrouted: false },
      ]);
      const sa = a!.select(make());
      const sw = w!.select(make());
      assert.deepEqual(sa.batch?.ids, ['auth-info', 'auth-err']);
      assert.equal(sa.left, 5);
      assert.deepEqual(sw.batch?.ids, ['local0-warn', 'app-web']);
      assert.deepEqual(sa.unrouted, { no_match: 1, excluded: 1, severity: 1 }, 'the first sink counts');
      assert.deepEqual(sw.unrouted, { no_match: 0, excluded: 0, severity: 0 });
    });
  }

  it('gives the unrouted sink exactly what no other sink takes, and it counts them', () => {
    const selectors = routeSelectors([
      { route: auth, takesUnrouted: false },
      { route: EVERY_EVENT, takesUnrouted: true },
      { route: web, takesUnrouted: false },
    ]);
    const rest = selectors[1]!.select(batchWithRoutes());
    assert.deepEqual(rest.batch?.ids, ['local0-info', 'app-debug', 'other']);
    assert.deepEqual(rest.unrouted, { no_match: 1, excluded: 1, severity: 1 });
    assert.deepEqual(selectors[0]!.select(batchWithRoutes()).unrouted, { no_match: 0, excluded: 0, severity: 0 });
  });

  it('skips all work when a sink takes everything and nothing can be unrouted', () => {
    const [only] = routeSelectors([{ route: EVERY_EVENT, takesUnrouted: false }]);
    assert.equal(only!.passesEverything, true);
    const batch = batchWithRoutes();
    assert.equal(only!.select(batch).batch, batch);
    // A sink with rules beside one that takes everything: nothing is unrouted, only its own filter runs.
    const [everything, picky, rest] = routeSelectors([
      { route: EVERY_EVENT, takesUnrouted: false },
      { route: auth, takesUnrouted: false },
      { route: EVERY_EVENT, takesUnrouted: true },
    ]);
    assert.equal(everything!.passesEverything, true, 'the unrouted sink counts, not the first');
    assert.deepEqual(picky!.select(batch).batch?.ids, ['auth-info', 'auth-err']);
    assert.equal(rest!.select(batch).batch, null);
  });

  it('sends a body that does not decode (and has no route key) to every sink that routes by its own rules', () => {
    const batch: ProcessedBatch = { sourceBatchId: 'b', ids: ['bad'], bodies: [Uint8Array.of(0xc1)] };
    const [a, rest] = routeSelectors([
      { route: auth, takesUnrouted: false },
      { route: EVERY_EVENT, takesUnrouted: true },
    ]);
    assert.deepEqual(a!.select(batch).batch?.ids, ['bad']);
    assert.equal(rest!.select(batch).batch, null);
  });

  it('lets minSeverity hold back only events that have a severity', () => {
    const warnings = new RouteSelector({ keep: sinkRoute(['**'], null, 4), routes: [], account: false });
    assert.deepEqual(warnings.select(batchWithRoutes()).batch?.ids, [
      'auth-err',
      'local0-warn',
      'app-web',
      'app-debug',
      'other',
    ]);
  });

  it('reads severities by name (the common spellings) or number', () => {
    assert.equal(parseSeverity('warning'), 4);
    assert.equal(parseSeverity('warn'), 4);
    assert.equal(parseSeverity('ERR'), 3);
    assert.equal(parseSeverity('error'), 3);
    assert.equal(parseSeverity('emerg'), 0);
    assert.equal(parseSeverity('debug'), 7);
    assert.equal(parseSeverity(2), 2);
    assert.equal(parseSeverity('5'), 5);
    assert.equal(parseSeverity(8), null);
    assert.equal(parseSeverity('loud'), null);
    assert.equal(parseSeverity(1.5), null);
  });
});
