import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { EventTime, FluentClient } from '@fluent-org/logger';
import { fanOutSend } from '../../../cli/send.js';
import {
  freeFleetOffsets,
  LocalFleetProcess,
  metricValue,
  type OutputLine,
} from '../../support/local-fleet-process.js';
import { AMQP_URL, waitFor } from '../../../testkit/services.js';

type FleetName = 'A' | 'B' | 'C';
const EVENTS_PER_FLEET = 20;
/** Syslog lines a device fans out to C's receivers: a Forward record from the first hop on. */
const SYSLOG_INTO_C = 10;

/** What each fleet's uploader sends where: a ring A→B→C→A, plus a direct link each way between A and B. */
interface Link {
  readonly name: string;
  readonly to: FleetName;
  readonly receiverPort: number;
  readonly excludeFleets?: string;
}
const LINKS: Record<FleetName, Link[]> = {
  // A's two links reach B's two receivers with the same chunks (one fleet's sinks build the same chunk ids).
  A: [
    { name: 'ring', to: 'B', receiverPort: 24224 },
    { name: 'direct', to: 'B', receiverPort: 24224 + 1 },
  ],
  // B's direct link reaches A's receiver a, as C's does: B's events arrive there twice, in chunks of two fleets. It
  // leaves out what came from or through A (it would be a loop there): counted as excluded.
  B: [
    { name: 'ring', to: 'C', receiverPort: 24224 },
    { name: 'direct', to: 'A', receiverPort: 24224, excludeFleets: 'A' },
  ],
  C: [{ name: 'ring', to: 'A', receiverPort: 24224 }],
};

/**
 * Three real fleets (`fanin up` each: two receivers, two workers, an uploader), in their own namespaces on the shared
 * RabbitMQ and Redis, replicating to each other with the Forward sink: every event lands exactly once in every
 * fleet's file sink, under the id it got in its origin fleet, and nothing circulates.
 */
describe('replication between three fleets in a ring plus a direct A↔B link', () => {
  const fleets: Record<FleetName, LocalFleetProcess> = {
    A: new LocalFleetProcess(),
    B: new LocalFleetProcess(),
    C: new LocalFleetProcess(),
  };
  const names: FleetName[] = ['A', 'B', 'C'];
  const run = randomBytes(3).toString('hex');

  before(async () => {
    const offsets = await freeFleetOffsets(3);
    const offsetOf = (f: FleetName) => offsets[names.indexOf(f)]!;
    for (const f of names) {
      const definitions = Object.fromEntries(
        LINKS[f].map((l) => [
          l.name,
          {
            type: 'forward',
            servers: `127.0.0.1:${l.receiverPort + offsetOf(l.to)}`,
            heartbeatIntervalMs: 200,
            upAfterHeartbeats: 1,
            ...(l.excludeFleets ? { excludeFleets: l.excludeFleets } : {}),
          },
        ]),
      );
      // Each fleet starts before the fleets it sends to may be up: its forward sinks retry until they are.
      await fleets[f].start(
        {
          FANIN_FLEET_ID: f,
          FANIN_SINKS: ['file', ...LINKS[f].map((l) => l.name)].join(','),
          FANIN_SINK_DEFINITIONS: JSON.stringify(definitions),
        },
        offsetOf(f),
      );
    }
  });
  after(async () => {
    await Promise.all(names.map((f) => fleets[f].cleanup()));
    const conn = await connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const f of names)
      for (const l of LINKS[f]) await ch.deleteQueue(`${fleets[f].namespace}.sink.${l.name}`).catch(() => undefined);
    await conn.close().catch(() => undefined);
  });

  const mine = (f: FleetName): OutputLine[] =>
    fleets[f].readOutput().filter((l) => (l.record as { run?: string } | undefined)?.run === run);
  /** The syslog lines: raw syslog in C, the Forward sink's in_syslog-shaped record elsewhere. */
  const syslogOf = (f: FleetName): OutputLine[] =>
    fleets[f].readOutput().filter((l) => l.message?.includes(`run=${run} `) ?? false);
  const sum = async (f: FleetName, bases: number[], name: string, labels: Record<string, string> = {}) => {
    let total = 0;
    for (const base of bases) total += metricValue(await fleets[f].metrics(base), name, labels);
    return total;
  };

  it('lands every event exactly once in every fleet, keeps its origin id, drops loops and counts them', async () => {
    // Events sent into each fleet, fanned out to both of its receivers as a forwarder would.
    for (const f of names) {
      const clients = [24224, 24225].map(
        (base) =>
          new FluentClient('repl', {
            eventMode: 'PackedForward',
            ack: { ackTimeout: 10_000 },
            socket: { host: '127.0.0.1', port: fleets[f].port(base) },
          }),
      );
      try {
        for (const client of clients) {
          await Promise.all(
            Array.from({ length: EVENTS_PER_FLEET }, (_, i) =>
              client.emit('t', { run, origin: f, i }, new EventTime(1_700_000_000 + i, 7)),
            ),
          );
        }
      } finally {
        await Promise.all(clients.map((c) => c.shutdown()));
      }
    }
    await fanOutSend({
      targets: [5514, 5515].map((base) => ({ host: '127.0.0.1', port: fleets.C.port(base) })),
      framing: 'octet',
      count: SYSLOG_INTO_C,
      rate: 0,
      message: 'from-a-device',
      runId: run,
    });
    const total = EVENTS_PER_FLEET * names.length;
    // Settled: every fleet holds all events, and nothing more arrives for a while (a circulating event would).
    let last = '';
    await waitFor(
      'every fleet holds every event, settled',
      () => {
        const counts = names.map((f) => `${mine(f).length}+${syslogOf(f).length}`).join(',');
        const done =
          names.every((f) => mine(f).length >= total && syslogOf(f).length >= SYSLOG_INTO_C) && counts === last;
        last = counts;
        return done ? true : undefined;
      },
      90_000,
      1500,
    );

    const originIds = new Map<string, string>();
    for (const f of names)
      for (const l of mine(f)) {
        const r = l.record as { origin: FleetName; i: number };
        if (r.origin === f) originIds.set(`${r.origin}:${r.i}`, l.id);
      }
    assert.equal(originIds.size, total, 'each fleet landed its own events');
    for (const f of names) {
      const lines = mine(f);
      assert.equal(lines.length, total, `${f}: ${lines.length} lines, want exactly ${total}`);
      const keys = new Set(
        lines.map((l) => {
          const r = l.record as { origin: string; i: number };
          return `${r.origin}:${r.i}`;
        }),
      );
      assert.equal(keys.size, total, `${f}: every event once`);
      for (const l of lines) {
        const r = l.record as Record<string, unknown> & { origin: FleetName; i: number };
        assert.equal(l.id, originIds.get(`${r.origin}:${r.i}`), `${f}: ${r.origin}:${r.i} carries its origin id`);
        assert.ok(!('fanin_id' in r) && !('fanin_path' in r), 'the replication keys are taken out of the record');
        const path = l.fleet_path as string[] | undefined;
        if (r.origin === f) assert.equal(path, undefined, 'a local event has no path');
        else {
          assert.equal(path?.[0], r.origin, `${f}: the path starts at the origin`);
          assert.ok(!path.includes(f), `${f}: its own id is never in a landed event's path`);
        }
      }
    }

    // The syslog lines: once in every fleet, under the ids C gave them; a Forward event after C.
    const syslogIds = new Map(syslogOf('C').map((l) => [/seq=(\d+)/.exec(l.message!)?.[1], l.id]));
    assert.equal(syslogIds.size, SYSLOG_INTO_C);
    for (const f of ['A', 'B'] as const) {
      const lines = syslogOf(f);
      assert.equal(lines.length, SYSLOG_INTO_C, `${f}: ${lines.length} syslog lines`);
      for (const l of lines) {
        assert.equal(l.id, syslogIds.get(/seq=(\d+)/.exec(l.message!)?.[1]), `${f}: the syslog line keeps C's id`);
        assert.equal(l.format, 'forward');
        assert.equal((l.fleet_path as string[])[0], 'C');
      }
    }

    const receivers = [9601, 9602];
    const loops = Object.fromEntries(
      await Promise.all(
        names.map(
          async (f) =>
            [f, await sum(f, receivers, 'fanin_receiver_forward_replicated_events_total', { result: 'loop' })] as const,
        ),
      ),
    );
    // A's events come back to A from C; B's come back to B over both of A's links; C's come back to C from B.
    assert.deepEqual(loops, { A: EVENTS_PER_FLEET, B: 2 * EVENTS_PER_FLEET, C: EVENTS_PER_FLEET + SYSLOG_INTO_C });
    assert.equal(
      await sum('B', [9621], 'fanin_uploader_forward_excluded_events_total', { sink: 'direct' }),
      2 * EVENTS_PER_FLEET + SYSLOG_INTO_C,
      "B's link to A left out A's and C's events (they had passed A)",
    );
    for (const f of names)
      assert.equal(await sum(f, receivers, 'fanin_receiver_forward_replicated_events_total', { result: 'invalid' }), 0);
    // Arrivals along two paths: A's and C's events reach B over both of A's links, B's reach A directly and via C.
    const accepted = Object.fromEntries(
      await Promise.all(
        names.map(
          async (f) =>
            [
              f,
              await sum(f, receivers, 'fanin_receiver_forward_replicated_events_total', { result: 'accepted' }),
            ] as const,
        ),
      ),
    );
    assert.deepEqual(accepted, {
      A: 3 * EVENTS_PER_FLEET + SYSLOG_INTO_C,
      B: 4 * EVENTS_PER_FLEET + 2 * SYSLOG_INTO_C,
      C: 2 * EVENTS_PER_FLEET,
    });
    // What the workers decided: every accepted replica beyond the first arrival is a duplicate, none a repeat.
    for (const f of names) {
      const workers = [9611, 9612];
      const unique = await sum(f, workers, 'fanin_worker_copies_total', { result: 'unique' });
      const repeat = await sum(f, workers, 'fanin_worker_copies_total', { result: 'repeat' });
      assert.equal(unique, total + SYSLOG_INTO_C, `${f}: ${unique} unique`);
      assert.equal(repeat, 0, `${f}: no repeats`);
    }
  });
});
