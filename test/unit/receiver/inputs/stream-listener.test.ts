// The listening socket of the syslog stream inputs, on 127.0.0.1 port 0 with an in-process intake: connection limits
// at the gate, pause and resume with the publisher's pressure, and a close that lets each sender finish its bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { EventBatcher } from '../../../../receiver/event-batcher.js';
import { Intake } from '../../../../receiver/intake.js';
import { ConnectionLimiter } from '../../../../receiver/inputs/connection-limiter.js';
import { StreamListener } from '../../../../receiver/inputs/stream-listener.js';
import { createReceiverMetrics } from '../../../../receiver/receiver-metrics.js';
import { metric } from '../../../support/forward-fixtures.js';
import { ManualPublisher } from '../../../support/manual-publisher.js';

const silent = pino({ level: 'silent' });

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A listener whose streams append what they read to `received`, one string per connection. */
async function start(maxConnections = 10) {
  const registry = new Registry();
  const publisher = new ManualPublisher();
  const intake = new Intake(
    new EventBatcher({ maxEvents: 10, maxBytes: 4096, maxDelayMs: 5 }, () => undefined),
    publisher.asIntakePublisher,
  );
  const received = new Map<Socket, string>();
  const ended: Socket[] = [];
  const listener: StreamListener = new StreamListener(
    { host: '127.0.0.1', port: 0, transport: 'tcp', proxyProtocol: null, proxyHeaderTimeoutMs: 1000 },
    new ConnectionLimiter(maxConnections, maxConnections),
    (raw) => listener.startStream(raw),
    (stream) => {
      received.set(stream, '');
      stream.on('data', (d: Buffer) => received.set(stream, received.get(stream)! + d.toString()));
      stream.on('end', () => ended.push(stream));
    },
    intake,
    createReceiverMetrics(registry),
    silent,
  );
  const { port } = await listener.listen();
  const client = (allowHalfOpen = false) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', allowHalfOpen }, () => resolve(s));
      s.on('error', reject);
    });
  const text = () => [...received.values()].join('|');
  return { listener, publisher, registry, received, ended, client, text };
}

describe('stream listener', () => {
  it('hands each admitted connection to the stream handler and refuses, closes and counts those over the limit', async () => {
    const t = await start(1);
    const first = await t.client();
    first.write('<13>one\n');
    await until('first stream', () => t.text() === '<13>one\n');
    const second = await t.client();
    const closed = new Promise<void>((resolve) => second.on('close', () => resolve()));
    second.on('error', () => undefined);
    await closed;
    assert.equal(t.received.size, 1, 'the refused connection never reaches the handler');
    assert.equal(await metric(t.registry, 'fanin_receiver_connections_accepted_total', { transport: 'tcp' }), 1);
    first.destroy();
    await t.listener.close(100);
  });

  it('pauses every stream while the publisher is under pressure and resumes after', async () => {
    const t = await start();
    const c = await t.client();
    c.write('a');
    await until('first byte', () => t.text() === 'a');
    t.publisher.setPressure(true);
    c.write('b');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.text(), 'a', 'nothing is read while paused');
    t.publisher.setPressure(false);
    await until('the held byte', () => t.text() === 'ab');
    c.destroy();
    await t.listener.close(100);
  });

  it('a stream that starts under pressure stays paused until the pressure ends', async () => {
    const t = await start();
    t.publisher.setPressure(true);
    const c = await t.client();
    c.write('x');
    await until('the stream registered', () => t.received.size === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.text(), '');
    t.publisher.setPressure(false);
    await until('the byte', () => t.text() === 'x');
    c.destroy();
    await t.listener.close(100);
  });

  it('on close half-closes each stream: the sender sees EOF and the bytes already sent are still read', async () => {
    const t = await start();
    const c = await t.client(true); // a sender that may still write after it saw EOF
    const eof = new Promise<void>((resolve) => c.on('end', () => resolve()));
    c.write('before close');
    await until('bytes', () => t.text() === 'before close');
    const closing = t.listener.close(2000);
    await eof;
    c.end('last words');
    await closing;
    assert.equal(t.text(), 'before closelast words');
    assert.equal(t.ended.length, 1);
  });
});
