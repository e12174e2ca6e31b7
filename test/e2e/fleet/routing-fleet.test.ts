import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFleetProcess, metricValue, type OutputLine } from '../../support/local-fleet-process.js';
import { cleanupNamespace, waitFor } from '../../../testkit/services.js';

/**
 * Routing per sink through the real `fanin up` (two receivers, two workers, the uploader as child processes; real
 * RabbitMQ and Redis): two file sinks with different `match` rules each get exactly their events, the events no
 * sink's rules take are counted by reason and land in the sink named by uploader.unroutedSink, and nothing lands
 * twice although every event is sent to both receivers.
 */
describe('routing per sink in a real fleet', () => {
  const fleet = new LocalFleetProcess();
  const sinks = ['auth', 'web', 'rest'];
  const dirOf = (sink: string) => join(fleet.outDir, sink);

  before(async () => {
    await fleet.start({
      FANIN_SINKS: sinks.join(','),
      FANIN_UPLOADER_UNROUTED_SINK: 'rest',
      FANIN_SINK_DEFINITIONS: JSON.stringify({
        auth: { type: 'file', dir: dirOf('auth'), match: 'syslog.auth.** syslog.authpriv.**' },
        web: {
          type: 'file',
          dir: dirOf('web'),
          match: ['app.**', 'syslog.local0.**'],
          exclude: 'app.debug.**',
          minSeverity: 'warning',
        },
        rest: { type: 'file', dir: dirOf('rest') },
      }),
    });
  });
  after(async () => {
    await fleet.cleanup();
    await cleanupNamespace(fleet.namespace, sinks);
  });

  const linesOf = (sink: string, marker: string): OutputLine[] => {
    if (!existsSync(dirOf(sink))) return [];
    return readdirSync(dirOf(sink))
      .filter((f) => f.startsWith('events.'))
      .flatMap((f) =>
        readFileSync(join(dirOf(sink), f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as OutputLine),
      )
      .filter((l) => JSON.stringify(l).includes(marker));
  };

  it('gives each sink exactly the events its rules take and counts the others by reason', async () => {
    const marker = `route-${randomBytes(3).toString('hex')}`;
    const receivers = [fleet.port(5514), fleet.port(5515)];
    const socket = createSocket('udp4');
    const syslog = async (pri: number, label: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const line = Buffer.from(
          `<${pri}>1 2026-12-07T10:00:00.${String(i).padStart(3, '0')}Z host app - - - ${marker} ${label} ${i}`,
        );
        for (const port of receivers)
          await new Promise<void>((r, j) => socket.send(line, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
    };
    // auth (4) info and err; local0 (16) warning, err and info; a line that does not parse (tag syslog.raw).
    await syslog(4 * 8 + 6, 'auth.info', 20);
    await syslog(4 * 8 + 3, 'auth.err', 5);
    await syslog(16 * 8 + 4, 'local0.warning', 10);
    await syslog(16 * 8 + 3, 'local0.err', 10);
    await syslog(16 * 8 + 6, 'local0.info', 15);
    for (const port of receivers) {
      await new Promise<void>((r, j) =>
        socket.send(Buffer.from(`<999>${marker} raw`), port, '127.0.0.1', (e) => (e ? j(e) : r())),
      );
    }
    socket.close();
    const post = async (tag: string, count: number) => {
      const body = JSON.stringify(Array.from({ length: count }, (_, n) => ({ message: `${marker} ${tag}`, n })));
      for (const port of [fleet.port(8888), fleet.port(8889)]) {
        const res = await fetch(`http://127.0.0.1:${port}/${tag}?time=1765100000`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(res.status, 200);
      }
    };
    await post('app.web', 8);
    await post('app.debug.trace', 4);
    await post('other.thing', 3);

    const expected = { auth: 25, web: 28, rest: 15 + 4 + 3 + 1 };
    let last = '';
    const counts = () => Object.fromEntries(sinks.map((s) => [s, linesOf(s, marker).length]));
    await waitFor(
      'every sink settled at its count',
      async () => {
        const now = JSON.stringify(counts());
        const reached = now === JSON.stringify(expected) && now === last;
        last = now;
        if (!reached) await new Promise((r) => setTimeout(r, 400));
        return reached ? true : undefined;
      },
      40_000,
      100,
    );

    const labels = (sink: string) =>
      linesOf(sink, marker)
        .map((l) => l.tag)
        .sort();
    assert.deepEqual([...new Set(labels('auth'))], ['syslog.auth.err', 'syslog.auth.info']);
    assert.deepEqual([...new Set(labels('web'))], ['app.web', 'syslog.local0.err', 'syslog.local0.warn']);
    assert.deepEqual(
      [...new Set(labels('rest'))],
      ['app.debug.trace', 'other.thing', 'syslog.local0.info', 'syslog.raw'],
    );
    for (const sink of sinks) {
      const ids = linesOf(sink, marker).map((l) => l.id);
      assert.equal(new Set(ids).size, ids.length, `${sink}: no event twice`);
    }

    const metrics = await fleet.metrics(9621);
    assert.equal(metricValue(metrics, 'fanin_uploader_unrouted_events_total', { reason: 'severity' }), 15);
    assert.equal(metricValue(metrics, 'fanin_uploader_unrouted_events_total', { reason: 'excluded' }), 4);
    assert.equal(metricValue(metrics, 'fanin_uploader_unrouted_events_total', { reason: 'no_match' }), 3 + 1);
    assert.equal(metricValue(metrics, 'fanin_uploader_events_written_total', { sink: 'rest' }), 23);
    assert.equal(metricValue(metrics, 'fanin_uploader_events_unmatched_total', { sink: 'auth' }), 28 + 23);
  });
});
