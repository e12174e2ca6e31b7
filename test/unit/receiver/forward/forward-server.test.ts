import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { decode, decodeMulti, encode } from '@msgpack/msgpack';
import { decodeBody } from '../../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../../shared/envelope.js';
import { createLogger } from '../../../../shared/logger.js';
import { createRegistry } from '../../../../shared/metrics/registry.js';
import { EventBatcher, type SealedBatch } from '../../../../receiver/event-batcher.js';
import { createForwardMetrics } from '../../../../receiver/forward/forward-metrics.js';
import { startForwardServer, type ForwardServer } from '../../../../receiver/forward/forward-server.js';
import { Intake } from '../../../../receiver/intake.js';
import { createReceiverMetrics } from '../../../../receiver/receiver-metrics.js';
import { metricValue } from '../../../support/local-fleet-process.js';
import { ManualPublisher } from '../../../support/manual-publisher.js';

/** A raw TCP peer that collects what the server writes. */
class Peer {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  closed = false;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => undefined);
  }
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  get bytes(): Buffer {
    return this.received;
  }
  messages(): unknown[] {
    return [...decodeMulti(this.received)];
  }
  async until<T>(what: string, probe: () => T | undefined, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const sha512 = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const T = 1_700_000_000;

describe('forward server on a socket', () => {
  const registry = createRegistry('receiver', 'test');
  const receiverMetrics = createReceiverMetrics(registry);
  const metrics = createForwardMetrics(registry);
  const log = createLogger('test', 'forward', 'fatal');
  const publisher = new ManualPublisher();
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher({ maxEvents: 100, maxBytes: 64 * 1024, maxDelayMs: 5 }, (b) => sealed.push(b));
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  const limits = { maxFrameBytes: 256 * 1024, maxDecompressedBytes: 1024 * 1024, maxEvents: 1000, maxDepth: 32 };
  const base = { host: '127.0.0.1', port: 0, receiverId: 'a', limits, idleTimeoutMs: 400, closeGraceMs: 2000 };
  let plain: ForwardServer;
  let secured: ForwardServer;
  const peers: Peer[] = [];
  const peer = (port: number) => {
    const p = new Peer(port);
    peers.push(p);
    return p;
  };
  const envelopes = () => sealed.flatMap((b) => b.bodies.map((x) => decodeBody(x) as EventEnvelope));
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricValue(await registry.metrics(), name, labels);

  before(async () => {
    plain = await startForwardServer({ ...base, handshake: null }, intake, metrics, receiverMetrics, log);
    secured = await startForwardServer(
      { ...base, handshake: { sharedKey: 'k3y', users: new Map(), selfHostname: 'fanin-a' } },
      intake,
      metrics,
      receiverMetrics,
      log,
    );
  });
  beforeEach(() => {
    publisher.autoConfirm = true;
    sealed.length = 0;
  });
  after(async () => {
    for (const p of peers) p.socket.destroy();
    await Promise.all([plain.close(), secured.close()]);
  });

  it('acks a chunk only after the broker confirmed its batch, echoing the id byte for byte', async () => {
    publisher.autoConfirm = false;
    const p = peer(plain.port);
    p.send(encode(['app.web', T, { message: 'one' }, { chunk: 'Y2h1bmstMQ==' }]));
    await p.until('the batch sealed', () => (sealed.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.bytes.length, 0, 'no ack before the confirm');
    assert.equal(publisher.waiting, 1);
    publisher.confirmAll();
    await p.until('the ack', () => (p.bytes.length > 0 ? true : undefined));
    assert.deepEqual(
      p.bytes,
      Buffer.concat([Buffer.from([0x81, 0xa3]), Buffer.from('ack'), Buffer.from(encode('Y2h1bmstMQ=='))]),
    );
    const [env] = envelopes();
    assert.equal(env!.tag, 'app.web');
    assert.equal(env!.time, '2023-11-14T22:13:20.000000000Z');
    assert.deepEqual(env!.record, { message: 'one' });
    assert.equal(env!.message, 'one');
    assert.equal(env!.format, 'forward');
    assert.equal(env!.transport, 'forward');
    assert.equal(env!.source, '127.0.0.1');
    assert.equal(await metric('fanin_receiver_forward_chunks_total', { result: 'acked' }), 1);
  });

  it("puts all of a chunk's events into one batch with its chunk range", async () => {
    const p = peer(plain.port);
    const entries = Array.from({ length: 150 }, (_, i) => [T + i, { i }]); // more than one batch's 100 events
    p.send(encode(['app.many', entries, { chunk: Buffer.from('bin-chunk'), size: 150 }]));
    await p.until('the ack', () => (p.messages().length > 0 ? true : undefined));
    const [ack] = p.messages() as [{ ack: Uint8Array }];
    assert.ok(ack.ack instanceof Uint8Array, 'a bin chunk id is echoed as bin');
    assert.equal(Buffer.from(ack.ack).toString(), 'bin-chunk');
    const holding = sealed.filter((b) => b.chunks.length > 0);
    assert.equal(holding.length, 1);
    assert.equal(holding[0]!.bodies.length, 150);
    assert.deepEqual(
      holding[0]!.chunks.map((c) => [c.first, c.end]),
      [[0, 150]],
    );
  });

  it('takes every mode on one connection, and a TCP heartbeat (nil) without a reply', async () => {
    const p = peer(plain.port);
    const stream = Buffer.concat([encode([T, { m: 'packed' }]), encode([T, { m: 'packed2' }])]);
    const { gzipSync } = await import('node:zlib');
    p.send(
      Buffer.concat([
        encode(null),
        encode(['m', T, { m: 'message' }]),
        encode(['m', [[T, { m: 'forward' }]]]),
        encode(['m', stream]),
        encode([
          'm',
          Buffer.concat([gzipSync(encode([T, { m: 'gz1' }])), gzipSync(encode([T, { m: 'gz2' }]))]),
          { compressed: 'gzip', chunk: 'last' },
        ]),
      ]),
    );
    await p.until('the ack', () => (p.messages().length > 0 ? true : undefined));
    assert.deepEqual(p.messages(), [{ ack: 'last' }]);
    await p.until('all sealed', () => (envelopes().length >= 6 ? true : undefined));
    assert.deepEqual(
      envelopes().map((e) => (e.record as { m: string }).m),
      ['message', 'forward', 'packed', 'packed2', 'gz1', 'gz2'],
    );
    assert.ok((await metric('fanin_receiver_forward_messages_total', { mode: 'heartbeat' })) >= 1);
  });

  it('answers a UDP heartbeat with one 0x00 byte from the same port', async () => {
    const udp = createSocket('udp4');
    const reply = new Promise<{ msg: Buffer; port: number }>((resolve) =>
      udp.once('message', (msg, rinfo) => resolve({ msg, port: rinfo.port })),
    );
    udp.send(Buffer.from([0xc0]), plain.port, '127.0.0.1');
    const { msg, port } = await reply;
    udp.close();
    assert.deepEqual(msg, Buffer.from([0]));
    assert.equal(port, plain.port);
  });

  it('handshake: HELO, then PONG true for the right shared key, then events are taken', async () => {
    const p = peer(secured.port);
    const [tag, helo] = await p.until('HELO', () =>
      p.bytes.length > 0 ? (decode(p.bytes) as [string, { nonce: Uint8Array; auth: string }]) : undefined,
    );
    assert.equal(tag, 'HELO');
    const salt = 'c2FsdA';
    p.send(encode(['PING', 'client-1', salt, sha512(salt, 'client-1', helo.nonce, 'k3y'), '', '']));
    await p.until('PONG', () => (p.messages().length >= 2 ? true : undefined));
    assert.deepEqual(p.messages()[1], ['PONG', true, '', 'fanin-a', sha512(salt, 'fanin-a', helo.nonce, 'k3y')]);
    p.send(encode(['secure', T, { ok: 1 }, { chunk: 'c' }]));
    await p.until('the ack', () => (p.messages().length >= 3 ? true : undefined));
    assert.deepEqual(p.messages()[2], { ack: 'c' });
  });

  it('handshake: PONG false with the reason, then the connection is closed', async () => {
    const p = peer(secured.port);
    const helo = await p.until('HELO', () =>
      p.bytes.length > 0 ? (decode(p.bytes) as [string, { nonce: Uint8Array }]) : undefined,
    );
    p.send(encode(['PING', 'client-1', 's', sha512('s', 'client-1', helo[1].nonce, 'wrong'), '', '']));
    await p.until('closed', () => (p.closed ? true : undefined));
    assert.deepEqual(p.messages()[1], ['PONG', false, 'shared_key mismatch', '', '']);
    assert.ok((await metric('fanin_receiver_forward_handshakes_total', { result: 'failed' })) >= 1);
  });

  it('handshake: events without a PING are refused', async () => {
    const p = peer(secured.port);
    p.send(encode(['sneaky', T, { a: 1 }]));
    await p.until('closed', () => (p.closed ? true : undefined));
    assert.deepEqual(p.messages()[1], ['PONG', false, 'invalid ping message', '', '']);
    assert.equal(envelopes().length, 0);
  });

  it('closes on a str32 declaring 4 GB as soon as its header arrives, and counts the reason', async () => {
    const before = await metric('fanin_receiver_forward_errors_total', { reason: 'frame_too_large' });
    const p = peer(plain.port);
    p.send(Buffer.from('93a174ce6553f100dbffffffff', 'hex'));
    await p.until('closed', () => (p.closed ? true : undefined));
    assert.equal(await metric('fanin_receiver_forward_errors_total', { reason: 'frame_too_large' }), before + 1);
  });

  it('closes on malformed msgpack, but still acks the chunk that came before it', async () => {
    publisher.autoConfirm = false;
    const p = peer(plain.port);
    p.send(Buffer.concat([encode(['ok', T, { a: 1 }, { chunk: 'good' }]), Buffer.from([0xc1])]));
    await p.until('sealed', () => (sealed.length > 0 ? true : undefined));
    setTimeout(() => publisher.confirmAll(), 50);
    await p.until('closed', () => (p.closed ? true : undefined));
    assert.deepEqual(p.messages(), [{ ack: 'good' }]);
    assert.ok((await metric('fanin_receiver_forward_errors_total', { reason: 'msgpack_invalid' })) >= 1);
  });

  it('a sender that half-closes after its chunk still gets the ack', async () => {
    publisher.autoConfirm = false;
    const p = peer(plain.port);
    p.send(encode(['bye', T, { a: 1 }, { chunk: 'last-words' }]));
    p.socket.end();
    await p.until('sealed', () => (sealed.length > 0 ? true : undefined));
    publisher.confirmAll();
    await p.until('closed', () => (p.closed ? true : undefined));
    assert.deepEqual(p.messages(), [{ ack: 'last-words' }]);
  });

  it('closes an idle connection, but not one waiting for its ack', async () => {
    const idle = peer(plain.port);
    publisher.autoConfirm = false;
    const waiting = peer(plain.port);
    waiting.send(encode(['slow', T, { a: 1 }, { chunk: 'w' }]));
    await idle.until('idle closed', () => (idle.closed ? true : undefined));
    assert.equal(waiting.closed, false, 'waiting for an ack is not idleness');
    publisher.confirmAll();
    await waiting.until('the ack', () => (waiting.messages().length > 0 ? true : undefined));
    assert.ok((await metric('fanin_receiver_forward_errors_total', { reason: 'idle_timeout' })) >= 1);
  });

  it('stops reading while the intake is under pressure, and resumes after', async () => {
    const p = peer(plain.port);
    p.send(encode(null)); // connected and established
    await new Promise((r) => setTimeout(r, 50));
    publisher.setPressure(true);
    p.send(encode(['pressed', T, { a: 1 }, { chunk: 'p' }]));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(envelopes().length, 0, 'nothing read while paused');
    publisher.setPressure(false);
    await p.until('the ack', () => (p.messages().length > 0 ? true : undefined));
    assert.equal(envelopes().length, 1);
  });
});
