import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventTime, FluentClient, FluentSocketEvent, type EventModes } from '@fluent-org/logger';
import { decodeBody } from '../../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../../shared/envelope.js';
import { createLogger } from '../../../../shared/logger.js';
import { createRegistry } from '../../../../shared/metrics/registry.js';
import { EventBatcher, type SealedBatch } from '../../../../receiver/event-batcher.js';
import { createForwardMetrics } from '../../../../receiver/forward/forward-metrics.js';
import { startForwardServer, type ForwardServer } from '../../../../receiver/forward/forward-server.js';
import { parseForwardUsers } from '../../../../receiver/forward/handshake.js';
import { Intake } from '../../../../receiver/intake.js';
import { createReceiverMetrics } from '../../../../receiver/receiver-metrics.js';
import { metricValue } from '../../../support/local-fleet-process.js';
import { ManualPublisher } from '../../../support/manual-publisher.js';
import { legacy } from '../../../support/legacy-fluent-logger.js';

/**
 * Real client libraries against the Forward input with a shared key and users (HELO/PING/PONG), every event mode
 * and acks; the broker is stood in for, so what the input accepted is read straight from the sealed batches.
 */
describe('forward input with real client libraries and a shared key', () => {
  const registry = createRegistry('receiver', 'peers');
  const publisher = new ManualPublisher();
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher({ maxEvents: 500, maxBytes: 64 * 1024, maxDelayMs: 5 }, (b) => sealed.push(b));
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  let server: ForwardServer;
  const envelopes = () => sealed.flatMap((b) => b.bodies.map((x) => decodeBody(x) as EventEnvelope));
  const security = { clientHostname: 'client-host', sharedKey: 'sh4red', username: 'alice', password: 'pw1' };

  before(async () => {
    server = await startForwardServer(
      {
        host: '127.0.0.1',
        port: 0,
        receiverId: 'a',
        idleTimeoutMs: 10_000,
        closeGraceMs: 1000,
        limits: { maxFrameBytes: 1 << 20, maxDecompressedBytes: 4 << 20, maxEvents: 10_000, maxDepth: 64 },
        handshake: { sharedKey: 'sh4red', users: parseForwardUsers('alice:pw1'), selfHostname: 'fanin-a' },
      },
      intake,
      createForwardMetrics(registry),
      createReceiverMetrics(registry),
      createLogger('test', 'peers', 'fatal'),
    );
  });
  beforeEach(() => {
    sealed.length = 0;
  });
  after(async () => {
    await server.close();
  });

  for (const eventMode of ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as EventModes[]) {
    it(`@fluent-org/logger ${eventMode}: handshake, ack, records and nanosecond times exact`, async () => {
      const client = new FluentClient('peer', {
        eventMode,
        ack: { ackTimeout: 5000 },
        security,
        socket: { host: '127.0.0.1', port: server.port, disableReconnect: true },
      });
      try {
        await client.connect();
        await Promise.all(
          [1, 2, 3].map((i) =>
            client.emit(eventMode, { i, mode: eventMode }, new EventTime(1_700_000_000 + i, 123_456_789)),
          ),
        );
      } finally {
        await client.shutdown();
      }
      const got = envelopes().filter((e) => e.tag === `peer.${eventMode}`);
      assert.deepEqual(
        got.map((e) => [e.time, e.record]),
        [1, 2, 3].map((i) => [
          `2023-11-14T22:13:${String(20 + i).padStart(2, '0')}.123456789Z`,
          { i, mode: eventMode },
        ]),
      );
    });
  }

  it('@fluent-org/logger with a wrong shared key is refused: nothing is taken', async () => {
    const client = new FluentClient('wrong', {
      ack: { ackTimeout: 500 },
      security: { ...security, sharedKey: 'nope' },
      socket: { host: '127.0.0.1', port: server.port, disableReconnect: true },
    });
    client.socketOn(FluentSocketEvent.ERROR, () => undefined);
    const before = metricValue(await registry.metrics(), 'fanin_receiver_forward_handshakes_total', {
      result: 'failed',
    });
    const outcome = await Promise.race([
      client
        .connect()
        .then(() => client.emit('x', { a: 1 }))
        .then(
          () => 'accepted',
          () => 'refused',
        ),
      new Promise((r) => setTimeout(() => r('refused'), 2000)),
    ]);
    await client.shutdown().catch(() => undefined);
    assert.equal(outcome, 'refused');
    assert.equal(envelopes().length, 0);
    assert.ok(
      metricValue(await registry.metrics(), 'fanin_receiver_forward_handshakes_total', { result: 'failed' }) > before,
    );
  });

  for (const eventMode of ['Message', 'PackedForward', 'CompressedPackedForward']) {
    it(`fluent-logger (npm) ${eventMode}: handshake, ack, records and times exact`, async () => {
      const sender = legacy.createFluentSender('legacy', {
        host: '127.0.0.1',
        port: server.port,
        eventMode,
        requireAckResponse: true,
        ackResponseTimeout: 5000,
        security,
        reconnectInterval: 60_000,
        internalLogger: { info: () => undefined, error: () => undefined },
      });
      sender.on('error', () => undefined);
      try {
        for (const i of [1, 2]) {
          await new Promise<void>((resolve, reject) =>
            sender.emit(eventMode, { i }, new legacy.EventTime(1_700_000_000, i * 1000), (err) =>
              err ? reject(err) : resolve(),
            ),
          );
        }
      } finally {
        sender.end();
      }
      const got = envelopes().filter((e) => e.tag === `legacy.${eventMode}`);
      assert.deepEqual(
        got.map((e) => [e.time, e.record]),
        [
          ['2023-11-14T22:13:20.000001000Z', { i: 1 }],
          ['2023-11-14T22:13:20.000002000Z', { i: 2 }],
        ],
      );
    });
  }
});
