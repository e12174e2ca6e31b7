import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { BrokerSession } from '../../../../shared/amqp/broker-session.js';
import { fleetTopology } from '../../../../shared/amqp/topology.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace } from '../../../../testkit/services.js';

/** AMQP 0-9-1 queue.declare: class 50, method 10. */
const QUEUE_DECLARE = [50, 10] as const;

/**
 * A proxy to RabbitMQ that drops its first connection (both sides) when the client sends its first queue.declare:
 * a network cut in the middle of the topology setup, at the same point every run. Later connections pass.
 */
class CutAtFirstDeclare {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  connections = 0;
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const n = ++this.connections;
      const upstream = netConnect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.pipe(client);
      let pending = Buffer.alloc(0);
      let headerSkipped = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        if (n !== 1) return;
        pending = Buffer.concat([pending, chunk]);
        if (!headerSkipped && pending.length >= 8) {
          pending = pending.subarray(8);
          headerSkipped = true;
        } // "AMQP\0\0\x09\x01"
        // Frames: type (1), channel (2), size (4), payload, end (0xCE); a method payload opens with class and method.
        while (headerSkipped && pending.length >= 7 && pending.length >= 8 + pending.readUInt32BE(3)) {
          const size = pending.readUInt32BE(3);
          if (
            pending[0] === 1 &&
            size >= 4 &&
            pending.readUInt16BE(7) === QUEUE_DECLARE[0] &&
            pending.readUInt16BE(9) === QUEUE_DECLARE[1]
          ) {
            client.destroy();
            upstream.destroy();
            return;
          }
          pending = pending.subarray(8 + size);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise((r) => this.server!.close(r));
  }
}

/**
 * A connection lost while the session declares its topology (amqplib's recovery listens on the connection only after
 * the setup) must fail that attempt and reconnect: not throw an unhandled 'error', nor leave the setup hanging.
 */
describe('broker session cut during its topology setup', () => {
  const namespace = uniqueNamespace('setupcut');
  const proxy = new CutAtFirstDeclare(Number(new URL(AMQP_URL).port || 5672));
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => {
    uncaught.push(err);
  };
  let session: BrokerSession | null = null;

  after(async () => {
    process.off('uncaughtException', onUncaught);
    await session?.close();
    await proxy.stop();
    await cleanupNamespace(namespace);
  });

  it('fails the attempt, reconnects and declares the topology', async () => {
    process.on('uncaughtException', onUncaught);
    await proxy.start();
    const url = new URL(AMQP_URL);
    url.port = String(proxy.port);
    session = new BrokerSession(
      url.toString(),
      fleetTopology(namespace, ['file']),
      pino({ level: 'silent' }),
      'fanin test setup cut',
    );
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      session!.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    await session.start();
    assert.equal(await ready, true, 'the session became ready');
    assert.ok(proxy.connections >= 2, 'the first connection was cut mid-setup and another one made');
    assert.deepEqual(
      uncaught.map((e) => e.message),
      [],
      'no unhandled error event',
    );
    assert.equal(session.connected, true);
  });
});
