import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { decodeBody } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { createLogger } from '../../../shared/logger.js';
import { createRegistry } from '../../../shared/metrics/registry.js';
import { EventBatcher, type SealedBatch } from '../../../receiver/event-batcher.js';
import { Intake, type IntakePublisher } from '../../../receiver/intake.js';
import { encodeRelpFrame } from '../../../receiver/inputs/relp-frame.js';
import { startRelpListener, type RelpInput, type RelpInputOptions } from '../../../receiver/inputs/relp-input.js';
import { createRelpMetrics } from '../../../receiver/inputs/relp-metrics.js';
import { loadTlsCredentials } from '../../../receiver/inputs/tls-credentials.js';
import { createReceiverMetrics } from '../../../receiver/receiver-metrics.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { makeTestCertificates } from '../../support/test-certs.js';

/** Stands in for the broker behind the Intake: the test confirms batches one by one, in any order. */
class StepPublisher extends EventEmitter<{ pressure: [boolean] }> {
  canAccept = true;
  isPaused = false;
  autoConfirm = true;
  failAll = false;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  whenConfirmed(seq: number): Promise<void> {
    if (this.autoConfirm) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }
  confirm(seq: number): void {
    this.waiting.get(seq)?.resolve();
    this.waiting.delete(seq);
  }
  confirmAll(): void {
    for (const seq of [...this.waiting.keys()]) this.confirm(seq);
  }
  rejectAll(): void {
    for (const w of this.waiting.values()) w.reject(new Error('receiver shut down before the broker confirmed'));
    this.waiting.clear();
  }
  get seqs(): number[] {
    return [...this.waiting.keys()].sort((a, b) => a - b);
  }
  get asIntakePublisher(): IntakePublisher {
    return this as unknown as IntakePublisher;
  }
}

/** A RELP client that writes raw frames and parses what the server answers. */
class Client {
  private received = Buffer.alloc(0);
  closed = false;
  ended = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }
  send(txnr: number, command: string, data = ''): void {
    this.socket.write(encodeRelpFrame(txnr, command, data));
  }
  open(): void {
    this.send(1, 'open', 'relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog');
  }
  /** Every frame received, as "txnr command data". */
  get frames(): string[] {
    const out: string[] = [];
    let rest = this.received.toString('latin1');
    for (;;) {
      const m = /^(\d+) (\w+) (\d+)[ \n]/.exec(rest);
      if (!m) break;
      const len = Number(m[3]);
      const data = len === 0 ? '' : rest.slice(m[0].length, m[0].length + len);
      out.push(`${m[1]} ${m[2]}${data ? ` ${data}` : ''}`);
      rest = rest.slice(m[0].length + len + (len === 0 ? 0 : 1));
    }
    return out;
  }
  async until<T>(what: string, probe: () => T | undefined | false, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const line = (n: number) => `<134>1 2026-12-07T12:00:00Z host app - - - relp test line ${n}`;
const OK_OPEN = '1 rsp 200 OK\nrelp_version=0\nrelp_software=fanin\ncommands=syslog';

describe('RELP input on a socket', () => {
  const registry = createRegistry('receiver', 'test');
  const receiverMetrics = createReceiverMetrics(registry);
  const metrics = createRelpMetrics(registry);
  const log = createLogger('test', 'relp', 'fatal');
  const publisher = new StepPublisher();
  const sealed: SealedBatch[] = [];
  // One event per batch: each frame waits for its own confirm, so the order of confirms can be chosen.
  const batcher = new EventBatcher({ maxEvents: 1, maxBytes: 64 * 1024, maxDelayMs: 5 }, (b) => sealed.push(b));
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  const options: RelpInputOptions = {
    host: '127.0.0.1',
    port: 0,
    tls: null,
    maxConnections: 16,
    maxConnectionsPerAddress: 16,
    receiverId: 'a',
    maxDataBytes: 2048,
    hashSourceAddress: true,
    idleTimeoutMs: 0,
    closeGraceMs: 2000,
    maxUnacked: 4096,
    software: 'fanin',
  };
  let input: RelpInput;
  const clients: Client[] = [];
  const client = async (port = input.port) => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const c = new Client(socket);
    clients.push(c);
    return c;
  };
  const envelopes = () => sealed.flatMap((b) => b.bodies.map((x) => decodeBody(x) as EventEnvelope));
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricValue(await registry.metrics(), name, labels);

  before(async () => {
    input = await startRelpListener(options, intake, metrics, receiverMetrics, log);
  });
  beforeEach(() => {
    publisher.autoConfirm = true;
    sealed.length = 0;
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await input.close();
  });

  it('answers open with its offers, and each syslog frame only after the broker confirmed its batch', async () => {
    publisher.autoConfirm = false;
    const c = await client();
    c.open();
    await c.until('the open answer', () => c.frames.length === 1);
    assert.deepEqual(c.frames, [OK_OPEN]);
    c.send(2, 'syslog', line(1));
    c.send(3, 'syslog', line(2));
    await c.until('both batches waiting for their confirm', () => publisher.seqs.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(c.frames, [OK_OPEN], 'no answer before the confirm');
    publisher.confirmAll();
    await c.until('the answers', () => c.frames.length === 3);
    assert.deepEqual(c.frames.slice(1), ['2 rsp 200 OK', '3 rsp 200 OK']);
    const events = envelopes();
    assert.deepEqual(
      events.map((e) => e.message),
      ['relp test line 1', 'relp test line 2'],
    );
    assert.ok(events.every((e) => e.transport === 'relp' && e.source === '127.0.0.1' && e.format === 'rfc5424'));
  });

  it('answers in TXNR order: a batch confirmed early waits behind an earlier one', async () => {
    publisher.autoConfirm = false;
    const c = await client();
    c.open();
    for (let i = 0; i < 3; i++) c.send(i + 2, 'syslog', line(10 + i));
    await c.until('three batches waiting', () => publisher.seqs.length === 3);
    const [first, second, third] = publisher.seqs as [number, number, number];
    publisher.confirm(third);
    publisher.confirm(second);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(c.frames, [OK_OPEN], 'nothing answered while the first frame waits');
    publisher.confirm(first);
    await c.until('all answers', () => c.frames.length === 4);
    assert.deepEqual(c.frames.slice(1), ['2 rsp 200 OK', '3 rsp 200 OK', '4 rsp 200 OK']);
  });

  it('close: answered after the pending answers, then serverclose and FIN', async () => {
    publisher.autoConfirm = false;
    const c = await client();
    c.open();
    c.send(2, 'syslog', line(20));
    c.send(3, 'close');
    await c.until('the batch waiting', () => publisher.seqs.length === 1);
    publisher.confirmAll();
    await c.until('the end of the session', () => c.ended);
    assert.deepEqual(c.frames.slice(1), ['2 rsp 200 OK', '3 rsp 200 OK', '0 serverclose']);
  });

  it('refuses a session that sends syslog before open, or a TXNR out of sequence: serverclose, counted', async () => {
    const early = await client();
    early.send(1, 'syslog', line(30));
    await early.until('the end', () => early.ended);
    assert.deepEqual(early.frames, ['0 serverclose']);
    const skipped = await client();
    skipped.open();
    skipped.send(3, 'syslog', line(31));
    await skipped.until('the end', () => skipped.ended);
    assert.deepEqual(skipped.frames, [OK_OPEN, '0 serverclose']);
    assert.equal(envelopes().length, 0, 'neither frame was taken');
    assert.equal(await metric('fanin_receiver_relp_errors_total', { reason: 'not_open' }), 1);
    assert.equal(await metric('fanin_receiver_relp_errors_total', { reason: 'txnr_out_of_sequence' }), 1);
  });

  it('answers a command it does not offer with 500 and goes on; a broken frame ends the session after what was due', async () => {
    const c = await client();
    c.open();
    c.send(2, 'starttls');
    c.send(3, 'syslog', line(40));
    c.socket.write('4 syslog 2 abc\n'); // DATALEN says 2: the byte after them is not the LF trailer
    await c.until('the end', () => c.ended);
    assert.deepEqual(c.frames.slice(1), ['2 rsp 500 command not supported', '3 rsp 200 OK', '0 serverclose']);
    assert.equal(await metric('fanin_receiver_relp_errors_total', { reason: 'bad_frame' }), 1);
    assert.equal(await metric('fanin_receiver_relp_errors_total', { reason: 'unknown_command' }), 1);
  });

  it('a frame declaring more than the limit is refused at its header', async () => {
    const c = await client();
    c.open();
    c.socket.write('2 syslog 999999999 ');
    await c.until('the end', () => c.ended);
    assert.deepEqual(c.frames, [OK_OPEN, '0 serverclose']);
    assert.equal(await metric('fanin_receiver_relp_errors_total', { reason: 'frame_too_large' }), 1);
  });

  it('the receiver stops before the confirm: the session is cut, its frames unanswered and counted abandoned', async () => {
    publisher.autoConfirm = false;
    const before = await metric('fanin_receiver_relp_acks_total', { result: 'abandoned' });
    const c = await client();
    c.open();
    c.send(2, 'syslog', line(50));
    c.send(3, 'syslog', line(51));
    await c.until('the batches waiting', () => publisher.seqs.length === 2);
    publisher.rejectAll();
    await c.until('closed', () => c.closed);
    assert.deepEqual(c.frames, [OK_OPEN], 'neither frame was answered');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await metric('fanin_receiver_relp_acks_total', { result: 'abandoned' })) - before, 2);
  });

  it('drain: stops reading at once, answers what the broker confirms, then serverclose', async () => {
    publisher.autoConfirm = false;
    const own = await startRelpListener(options, intake, metrics, receiverMetrics, log);
    const c = await client(own.port);
    c.open();
    c.send(2, 'syslog', line(60));
    await c.until('the batch waiting', () => publisher.seqs.length === 1);
    const closing = own.close();
    await new Promise((r) => setTimeout(r, 30));
    c.send(3, 'syslog', line(61)); // after the drain began: never taken, never answered
    await new Promise((r) => setTimeout(r, 50));
    publisher.confirmAll();
    await closing;
    await c.until('the end', () => c.ended);
    assert.deepEqual(c.frames, [OK_OPEN, '2 rsp 200 OK', '0 serverclose']);
    assert.deepEqual(
      envelopes().map((e) => e.message),
      ['relp test line 60'],
      'the frame sent during the drain was not taken',
    );
  });

  it("over TLS with the receiver's certificate", async () => {
    const certs = makeTestCertificates();
    const credentials = loadTlsCredentials({
      certFile: certs.server.cert,
      keyFile: certs.server.key,
      caFile: '',
      requireClientCert: false,
    });
    const tls = await startRelpListener(
      { ...options, tls: { credentials, requireClientCert: false, handshakeTimeoutMs: 2000 } },
      intake,
      metrics,
      receiverMetrics,
      log,
    );
    try {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: tls.port,
        servername: 'localhost',
        ca: readFileSync(certs.caFile),
      });
      await new Promise((r) => socket.once('secureConnect', r));
      const c = new Client(socket);
      clients.push(c);
      c.open();
      c.send(2, 'syslog', line(70));
      c.send(3, 'close');
      await c.until('the end', () => c.ended);
      assert.deepEqual(c.frames, [OK_OPEN, '2 rsp 200 OK', '3 rsp 200 OK', '0 serverclose']);
    } finally {
      await tls.close();
    }
  });
});
