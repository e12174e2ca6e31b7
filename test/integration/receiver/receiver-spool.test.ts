import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { decodeBody, decodeNewEventBatch } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { runReceiver, type RunningReceiver } from '../../../receiver/run-receiver.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { freePort, TcpProxy } from '../../../testkit/tcp-proxy.js';

/**
 * The receiver's disk spool, against the real RabbitMQ reached through a proxy the test cuts: batches spool while
 * the broker is unreachable and are replayed in order, before new traffic, when it returns; a receiver stopped
 * while the broker is away spools what it holds, and its successor replays it.
 */
describe('receiver spool with the broker unreachable', () => {
  const namespace = uniqueNamespace('spool');
  const spoolDir = mkdtempSync(join(tmpdir(), 'fanin-spool-'));
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(AMQP_URL).port || 5672));
  let syslogPort = 0;
  let receiver: RunningReceiver | null = null;
  let conn: ChannelModel;
  let ch: Channel;
  const seen: string[] = [];

  const startReceiver = async () => {
    const amqp = new URL(AMQP_URL);
    amqp.port = String(proxy.port);
    const config = loadConfig({
      env: {
        FANIN_NAMESPACE: namespace,
        FANIN_AMQP_URL: amqp.toString(),
        FANIN_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
        FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
        FANIN_RECEIVER_SYSLOG_PORT: String(syslogPort),
        FANIN_RECEIVER_HTTP_PORT: '0',
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: String(await freePort()),
        FANIN_RECEIVER_SPOOL_DIR: spoolDir,
        FANIN_RECEIVER_SPOOL_FSYNC: 'never',
        FANIN_RECEIVER_BATCH_MAX_EVENTS: '20',
        FANIN_DRAIN_TIMEOUT_MS: '3000',
      },
    });
    receiver = await runReceiver(config);
  };

  const send = async (from: number, to: number) => {
    const socket = netConnect(syslogPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    for (let i = from; i < to; i++) socket.write(`<13>1 2026-11-23T00:00:00Z h app - - - spool-line ${i}\n`);
    await new Promise<void>((r) => socket.end(() => r()));
  };

  before(async () => {
    syslogPort = await freePort();
    await proxy.start();
    conn = await connect(AMQP_URL);
    ch = await conn.createChannel();
    await startReceiver();
    await waitFor(
      'queue declared by the receiver',
      async () => {
        const probe = await conn.createChannel(); // a failed check closes its channel
        probe.on('error', () => undefined);
        const ok = await probe.checkQueue(`${namespace}.new`).then(
          () => true,
          () => undefined,
        );
        await probe.close().catch(() => undefined);
        return ok;
      },
      10_000,
    );
    await ch.consume(`${namespace}.new`, (msg) => {
      if (!msg) return;
      for (const body of decodeNewEventBatch(msg.content).bodies)
        seen.push((decodeBody(body) as EventEnvelope).message ?? '');
      ch.ack(msg);
    });
  });

  after(async () => {
    await receiver?.drain();
    await proxy.cut();
    await ch.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
    await cleanupNamespace(namespace);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const spoolFiles = () => readdirSync(join(spoolDir, 'a')).filter((f) => f.startsWith('spool-'));
  const expectLines = (n: number) => Array.from({ length: n }, (_, i) => `spool-line ${i}`);

  it('spools while the broker is unreachable and replays in order when it returns', async () => {
    await send(0, 100);
    await waitFor('first 100 published', () => (seen.length >= 100 ? true : undefined));
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    await send(100, 400);
    await waitFor('spool written', () => (spoolFiles().length > 0 ? true : undefined), 5000);
    await proxy.start();
    await waitFor('all 400 published', () => (seen.length >= 400 ? true : undefined), 20_000);
    assert.deepEqual([...new Set(seen)].sort(), expectLines(400).sort(), 'every line, none lost');
    const firstSeen = seen.map((m) => Number(m.split(' ')[1]));
    const afterCut = firstSeen.filter((n) => n >= 100);
    assert.deepEqual(
      afterCut.filter((n, i) => afterCut.indexOf(n) === i),
      [...afterCut.filter((n, i) => afterCut.indexOf(n) === i)].sort((a, b) => a - b),
      'replayed in order',
    );
    await waitFor('spool emptied', () => (spoolFiles().length === 0 ? true : undefined), 10_000);
  });

  it('a receiver stopped while the broker is away spools what it holds; its successor replays it', async () => {
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    await send(400, 500);
    await new Promise((r) => setTimeout(r, 200));
    await receiver!.drain();
    receiver = null;
    assert.ok(spoolFiles().length > 0, 'spooled on drain');
    await startReceiver();
    await proxy.start();
    await waitFor(
      'spooled lines replayed by the new receiver',
      () => (new Set(seen).size >= 500 ? true : undefined),
      20_000,
    );
    assert.deepEqual([...new Set(seen)].sort(), expectLines(500).sort());
  });
});
