import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { EventTime, FluentClient } from '@fluent-org/logger';
import { decodeBody } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { createLogger } from '../../../shared/logger.js';
import { createRegistry } from '../../../shared/metrics/registry.js';
import { EventBatcher, type SealedBatch } from '../../../receiver/event-batcher.js';
import { createForwardMetrics } from '../../../receiver/forward/forward-metrics.js';
import { startForwardServer, type ForwardServer } from '../../../receiver/forward/forward-server.js';
import { loadTlsCredentials } from '../../../receiver/inputs/tls-credentials.js';
import { Intake } from '../../../receiver/intake.js';
import { createReceiverMetrics } from '../../../receiver/receiver-metrics.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { ManualPublisher } from '../../support/manual-publisher.js';
import { makeTestCertificates } from '../../support/test-certs.js';

/** The Forward input over TLS (in_forward's `<transport tls>`), driven by @fluent-org/logger with its tls option. */
describe('forward input over TLS', () => {
  const registry = createRegistry('receiver', 'fwd-tls');
  const publisher = new ManualPublisher();
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher({ maxEvents: 500, maxBytes: 64 * 1024, maxDelayMs: 5 }, (b) => sealed.push(b));
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  const pki = makeTestCertificates();
  let server: ForwardServer;

  before(async () => {
    server = await startForwardServer(
      {
        host: '127.0.0.1',
        port: 0,
        receiverId: 'a',
        idleTimeoutMs: 10_000,
        closeGraceMs: 1000,
        limits: { maxFrameBytes: 1 << 20, maxDecompressedBytes: 4 << 20, maxEvents: 10_000, maxDepth: 64 },
        handshake: null,
        tls: {
          credentials: loadTlsCredentials({
            certFile: pki.server.cert,
            keyFile: pki.server.key,
            caFile: '',
            requireClientCert: false,
          }),
          requireClientCert: false,
          handshakeTimeoutMs: 2000,
        },
      },
      intake,
      createForwardMetrics(registry),
      createReceiverMetrics(registry),
      createLogger('test', 'fwd-tls', 'fatal'),
    );
  });
  after(async () => {
    await server.close();
  });

  it('takes events with acks from a TLS client that verifies the server certificate', async () => {
    const client = new FluentClient('tls', {
      eventMode: 'PackedForward',
      ack: { ackTimeout: 5000 },
      socket: {
        host: '127.0.0.1',
        port: server.port,
        disableReconnect: true,
        tls: { ca: readFileSync(pki.caFile), servername: 'localhost' },
      },
    });
    try {
      await client.connect();
      await Promise.all([1, 2].map((i) => client.emit('x', { i }, new EventTime(1_700_000_000, i))));
    } finally {
      await client.shutdown();
    }
    const got = sealed
      .flatMap((b) => b.bodies.map((x) => decodeBody(x) as EventEnvelope))
      .filter((e) => e.tag === 'tls.x');
    assert.deepEqual(
      got.map((e) => e.record),
      [{ i: 1 }, { i: 2 }],
    );
    assert.equal(got[0]!.time, '2023-11-14T22:13:20.000000001Z');
  });

  it('refuses a client speaking plain msgpack to the TLS port, and counts it', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.from([0x93, 0xa1, 0x78, 0x01, 0x80]));
    await new Promise((r) => socket.once('close', r));
    assert.ok(
      metricValue(await registry.metrics(), 'fanin_receiver_forward_errors_total', {
        reason: 'tls_handshake_failed',
      }) >= 1,
    );
  });
});
