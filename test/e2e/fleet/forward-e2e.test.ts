import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { decodeMulti, Encoder } from '@msgpack/msgpack';
import { EventTime, FluentClient, type EventModes } from '@fluent-org/logger';
import { EventTime as WireEventTime, forwardExtensionCodec } from '../../../receiver/forward/event-time.js';
import { LocalFleetProcess, metricValue, type OutputLine } from '../../support/local-fleet-process.js';
import { waitFor } from '../../../testkit/services.js';
import { legacy } from '../../support/legacy-fluent-logger.js';

/** Debian's python3-fluent-logger lives in the system interpreter, whatever `python3` is first on the PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const PYTHON_SENDER = `
import sys
from fluent import sender
marker = sys.argv[1]
for port in [int(p) for p in sys.argv[2:]]:
    s = sender.FluentSender('py', host='127.0.0.1', port=port, nanosecond_precision=True)
    for i in range(5):
        if not s.emit_with_time('e2e', 1700000000 + i + 0.25, {'marker': marker, 'i': i}):
            sys.exit('emit failed: %r' % (s.last_error,))
    if not s.emit_with_time('e2e', 1700000100, {'marker': marker, 'i': 100}):
        sys.exit('emit failed: %r' % (s.last_error,))
    s.close()
`;

/**
 * Real Forward clients fanned out to both receivers of the real fleet (`fanin up`: receivers, two dedup workers, the
 * uploader, RabbitMQ, Redis): every event lands once in the file sink, records and times exact.
 */
describe('forward input end to end through the fleet', () => {
  const fleet = new LocalFleetProcess();
  before(async () => {
    await fleet.start();
  });
  after(async () => {
    await fleet.cleanup();
  });

  const ports = () => [fleet.port(24224), fleet.port(24225)];
  const withMarker = (marker: string) =>
    fleet.readOutput().filter((l) => (l.record as { marker?: string } | undefined)?.marker === marker);
  const settled = async (marker: string, expected: number, timeoutMs = 20_000): Promise<OutputLine[]> => {
    let last = -1;
    return waitFor(
      `${expected} lines with ${marker}`,
      async () => {
        const lines = withMarker(marker);
        if (lines.length >= expected && lines.length === last) return lines;
        last = lines.length;
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      timeoutMs,
      50,
    );
  };
  const byIndex = (lines: OutputLine[]) =>
    lines
      .map((l) => [(l.record as { i: number }).i, l.time, l.tag])
      .sort((a, b) => (a[0] as number) - (b[0] as number));

  it('prints the Forward endpoints of both receivers', () => {
    for (const port of ports()) assert.match(fleet.stdout, new RegExp(`forward tcp\\+udp 127\\.0\\.0\\.1:${port}`));
  });

  for (const eventMode of ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as EventModes[]) {
    it(`@fluent-org/logger ${eventMode} with acks to both receivers: each event once`, async () => {
      const marker = `fo-${eventMode}-${randomBytes(3).toString('hex')}`;
      const clients = ports().map(
        (port) =>
          new FluentClient('fo', { eventMode, ack: { ackTimeout: 10_000 }, socket: { host: '127.0.0.1', port } }),
      );
      try {
        for (const client of clients) {
          await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              client.emit(eventMode, { marker, i }, new EventTime(1_700_000_000 + i, 1000 * i + 7)),
            ),
          );
        }
      } finally {
        await Promise.all(clients.map((c) => c.shutdown()));
      }
      const lines = await settled(marker, 20);
      assert.equal(lines.length, 20);
      assert.deepEqual(
        byIndex(lines),
        Array.from({ length: 20 }, (_, i) => [
          i,
          `2023-11-14T22:${String(13 + Math.floor((20 + i) / 60)).padStart(2, '0')}:${String((20 + i) % 60).padStart(2, '0')}.${String(1000 * i + 7).padStart(9, '0')}Z`,
          `fo.${eventMode}`,
        ]),
      );
      assert.ok(lines.every((l) => l.format === 'forward' && l.transport === 'forward' && l.source === '127.0.0.1'));
      assert.ok(
        lines.every((l) => l.id.endsWith('-1')),
        'first occurrences only',
      );
    });
  }

  for (const eventMode of ['Message', 'PackedForward', 'CompressedPackedForward']) {
    it(`fluent-logger (npm) ${eventMode} with acks to both receivers: each event once`, async () => {
      const marker = `fl-${eventMode}-${randomBytes(3).toString('hex')}`;
      for (const port of ports()) {
        const sender = legacy.createFluentSender('fl', {
          host: '127.0.0.1',
          port,
          eventMode,
          requireAckResponse: true,
          ackResponseTimeout: 10_000,
          internalLogger: { info: () => undefined, error: () => undefined },
        });
        sender.on('error', () => undefined);
        try {
          for (let i = 0; i < 5; i++) {
            await new Promise<void>((resolve, reject) =>
              sender.emit('e2e', { marker, i }, new legacy.EventTime(1_700_000_000, i), (err) =>
                err ? reject(err) : resolve(),
              ),
            );
          }
        } finally {
          sender.end();
        }
      }
      const lines = await settled(marker, 5);
      assert.deepEqual(
        byIndex(lines),
        Array.from({ length: 5 }, (_, i) => [i, `2023-11-14T22:13:20.00000000${i}Z`, 'fl.e2e']),
      );
    });
  }

  it('Debian python3-fluent-logger (EventTime and integer times) to both receivers: each event once', async () => {
    assert.ok(existsSync(SYSTEM_PYTHON), `${SYSTEM_PYTHON} missing: apt-get install python3-fluent-logger`);
    const marker = `py-${randomBytes(3).toString('hex')}`;
    await new Promise<void>((resolve, reject) => {
      execFile(
        SYSTEM_PYTHON,
        ['-c', PYTHON_SENDER, marker, ...ports().map(String)],
        { timeout: 30_000 },
        (err, _out, stderr) => {
          if (err)
            reject(new Error(`python sender failed (is python3-fluent-logger installed?): ${stderr || err.message}`));
          else resolve();
        },
      );
    });
    const lines = await settled(marker, 6);
    assert.deepEqual(byIndex(lines), [
      ...Array.from({ length: 5 }, (_, i) => [i, `2023-11-14T22:13:${20 + i}.250000000Z`, 'py.e2e']),
      [100, '2023-11-14T22:15:00.000000000Z', 'py.e2e'],
    ]);
  });

  /** fanin_worker_copies_total per receiver and result, summed over both workers. */
  const copies = async (): Promise<Record<string, number>> => {
    const texts = await Promise.all([9611, 9612].map((base) => fleet.metrics(base)));
    const out: Record<string, number> = {};
    for (const receiver of ['a', 'b']) {
      for (const result of ['unique', 'repeat', 'duplicate', 'chunk_resend']) {
        out[`${receiver}.${result}`] = texts.reduce(
          (sum, t) => sum + metricValue(t, 'fanin_worker_copies_total', { receiver, result }),
          0,
        );
      }
    }
    return out;
  };
  const delta = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(after)
        .map(([k, v]): [string, number] => [k, v - (before[k] ?? 0)])
        .filter(([, v]) => v !== 0),
    );
  /** Waits until the counters moved by `expected` in total, then gives the change per receiver and result. */
  const copiesSince = async (before: Record<string, number>, expected: number) =>
    waitFor(`${expected} copies counted`, async () => {
      const d = delta(await copies(), before);
      return Object.values(d).reduce((sum, n) => sum + n, 0) >= expected ? d : undefined;
    });
  const chunkMessage = (marker: string, chunk: string) =>
    new Encoder({ extensionCodec: forwardExtensionCodec }).encode([
      'resend.t',
      [0, 1, 2].map((i) => [new WireEventTime(1_700_000_000, i), { marker, i }]),
      { chunk, size: 3 },
    ]);

  it('a chunk resent after a lost ack, to the same receiver and to the other, lands once and is counted', async () => {
    const marker = `resend-${randomBytes(3).toString('hex')}`;
    const message = chunkMessage(marker, `chunk-${marker}`);
    const [a, b] = ports() as [number, number];
    const before = await copies();
    for (const port of [a, b, a]) {
      // the first ack "lost": resent to the other receiver, then to the first again
      assert.deepEqual(await sendForAck(port, message), { ack: `chunk-${marker}` });
    }
    const lines = await settled(marker, 3);
    assert.equal(lines.length, 3, 'the chunk landed once, not three times');
    // At b the chunk is new: decided per event, duplicates of a's copies; at a again it is a resend, dropped whole.
    assert.deepEqual(await copiesSince(before, 9), { 'a.unique': 3, 'b.duplicate': 3, 'a.chunk_resend': 3 });
    assert.ok(metricValue(await fleet.metrics(9601), 'fanin_receiver_forward_chunks_total', { result: 'acked' }) >= 2);
  });

  it('a sender that gives one chunk the same id at both receivers (Fluent Bit): b counted as duplicates, resends to each dropped', async () => {
    const marker = `samechunk-${randomBytes(3).toString('hex')}`;
    const message = chunkMessage(marker, `fb-${marker}`);
    const [a, b] = ports() as [number, number];
    const before = await copies();
    // The fan-out: one chunk, one id, to both receivers.
    for (const port of [a, b]) assert.deepEqual(await sendForAck(port, message), { ack: `fb-${marker}` });
    assert.deepEqual(
      await copiesSince(before, 6),
      { 'a.unique': 3, 'b.duplicate': 3 },
      'b saw every event: its coverage is not 0',
    );
    // Both acks "lost": each output resends to its own receiver.
    for (const port of [b, a]) assert.deepEqual(await sendForAck(port, message), { ack: `fb-${marker}` });
    assert.deepEqual(await copiesSince(before, 12), {
      'a.unique': 3,
      'b.duplicate': 3,
      'a.chunk_resend': 3,
      'b.chunk_resend': 3,
    });
    const lines = await settled(marker, 3);
    assert.deepEqual(
      byIndex(lines).map((l) => l[0]),
      [0, 1, 2],
      'each event landed exactly once',
    );
    assert.ok(
      lines.every((l) => l.id.endsWith('-1')),
      'no resend was taken for a real repeat',
    );
    // A real repeat afterwards, in a new chunk to both receivers, is occurrence 2 once: nothing was over-counted.
    const repeat = chunkMessage(marker, `fb2-${marker}`);
    for (const port of [a, b]) assert.deepEqual(await sendForAck(port, repeat), { ack: `fb2-${marker}` });
    const after = await settled(marker, 6);
    assert.equal(after.length, 6);
    assert.equal(after.filter((l) => l.id.endsWith('-2')).length, 3);
  });
});

/** Sends one message on a fresh connection and returns the first reply (the ack). */
function sendForAck(port: number, message: Uint8Array): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(message));
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no ack within 10 s'));
    }, 10_000);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        const [first] = [...decodeMulti(buf)];
        clearTimeout(timer);
        socket.end();
        resolve(first);
      } catch {
        /* need more */
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
