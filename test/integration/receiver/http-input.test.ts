import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { deflateSync, gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { decodeBody } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { createLogger } from '../../../shared/logger.js';
import { createRegistry } from '../../../shared/metrics/registry.js';
import { EventBatcher, type SealedBatch } from '../../../receiver/event-batcher.js';
import {
  bearerCheck,
  startHttpInput,
  type HttpInput,
  type HttpInputOptions,
} from '../../../receiver/inputs/http-input.js';
import { encodeProxyV1, encodeProxyV2 } from '../../../receiver/inputs/proxy-protocol.js';
import { loadTlsCredentials } from '../../../receiver/inputs/tls-credentials.js';
import { Intake } from '../../../receiver/intake.js';
import { createReceiverMetrics } from '../../../receiver/receiver-metrics.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { ManualPublisher } from '../../support/manual-publisher.js';
import { makeTestCertificates } from '../../support/test-certs.js';

const log = createLogger('test', 'http', 'fatal');
const base: HttpInputOptions = {
  host: '127.0.0.1',
  port: 0,
  receiverId: 'a',
  maxBodyBytes: 64 * 1024,
  maxDecompressedBytes: 4096,
  idleTimeoutMs: 300,
  maxConnections: 1000,
  maxConnectionsPerAddress: 1000,
  proxyProtocol: null,
  proxyHeaderTimeoutMs: 500,
};

/** One HTTP input on a real listener (port 0) with a stand-in broker that records every sealed batch. */
function harness() {
  const publisher = new ManualPublisher();
  const sealed: SealedBatch[] = [];
  const batcher = new EventBatcher({ maxEvents: 100, maxBytes: 64 * 1024, maxDelayMs: 5 }, (b) => sealed.push(b));
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  const registry = createRegistry('receiver', 'http-test');
  const metrics = createReceiverMetrics(registry);
  return {
    publisher,
    sealed,
    intake,
    metrics,
    batcher,
    envelopes: () => sealed.flatMap((b) => b.bodies.map((x) => decodeBody(x) as EventEnvelope)),
    metric: async (name: string, labels: Record<string, string> = {}) =>
      metricValue(await registry.metrics(), name, labels),
  };
}

/** Sends raw bytes and collects the answer until the server closes (or `ms` pass). */
async function rawExchange(
  port: number,
  bytes: Buffer,
  ms = 1500,
  localAddress = '127.0.0.1',
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, ms);
    s.on('data', (d) => {
      text += d.toString('latin1');
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    s.write(bytes);
  });
}

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${Object.entries(
        headers,
      )
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    ),
    Buffer.from(body),
  ]);

describe('HTTP input on a socket', () => {
  const h = harness();
  let server: HttpInput;
  let url: string;
  before(async () => {
    server = await startHttpInput({ ...base, bearerToken: 's3cret' }, h.intake, h.metrics, log);
    url = `http://127.0.0.1:${server.port}`;
  });
  beforeEach(() => {
    h.publisher.autoConfirm = true;
    h.publisher.setPressure(false);
    h.publisher.canAccept = true;
    h.sealed.length = 0;
  });
  after(() => server.close(200));

  const send = (
    body: string | Uint8Array = '{"message":"hi"}',
    headers: Record<string, string> = {},
    path = '/app.web',
  ) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret', ...headers },
    });

  it('answers 401 with WWW-Authenticate without the bearer token or with a wrong one', async () => {
    for (const authorization of ['', 'Bearer nope', 'Basic czNjcmV0']) {
      const res = await send(undefined, { authorization });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.equal((await send()).status, 200);
  });

  it('answers 503 with Retry-After while stream inputs are paused, and when memory is full', async () => {
    h.publisher.setPressure(true);
    const paused = await send();
    assert.equal(paused.status, 503);
    assert.equal(paused.headers.get('retry-after'), '1');
    h.publisher.setPressure(false);
    h.publisher.canAccept = false;
    assert.equal((await send()).status, 503);
  });

  it('answers 2xx only after the broker confirmed the batch, even past the idle timeout', async () => {
    h.publisher.autoConfirm = false;
    let status = 0;
    const pending = send().then((r) => {
      status = r.status;
    });
    await new Promise((r) => setTimeout(r, base.idleTimeoutMs * 2));
    assert.equal(status, 0, 'no answer before the confirm, and the waiting connection was not closed as idle');
    h.publisher.confirmAll();
    await pending;
    assert.equal(status, 200);
  });

  it('a request is all or nothing: a record nested 100 levels refuses the request with 400 naming it, nothing is handed on', async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 99; i++) deep = { deep };
    const res = await send(JSON.stringify([{ message: 'first' }, { message: 'second' }, deep]));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /record 2 is nested deeper than 64 levels/);
    h.batcher.flush();
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(h.envelopes(), [], 'the records before it were not published');
    assert.equal(res.headers.get('retry-after'), null, 'not a 503: a retry would not help');
  });

  it("an event without a time parameter gets the receipt time; with one, the sender's", async () => {
    assert.equal((await send('{"message":"no time"}')).status, 200);
    assert.equal((await send('{"message":"timed"}', {}, '/app.web?time=1700000000.5')).status, 200);
    const [untimed, timed] = h.envelopes();
    assert.equal(untimed!.time, new Date(untimed!.received_at).toISOString());
    assert.equal(timed!.time, '2023-11-14T22:13:20.500Z');
  });

  it('msgpack bin values land as strings (UTF-8), as fluentd writes them', async () => {
    const body = encode({
      message: 'bin',
      payload: Buffer.from('héllo'),
      list: [Buffer.from([0x41, 0xff])],
      nested: { b: Buffer.from('x') },
    });
    assert.equal((await send(body, { 'content-type': 'application/msgpack' })).status, 200);
    const record = h.envelopes()[0]!.record as Record<string, unknown>;
    assert.deepEqual(record, { message: 'bin', payload: 'héllo', list: ['A\ufffd'], nested: { b: 'x' } });
  });

  it('takes gzip and deflate bodies; 413 past the inflated bound, 400 for a broken one, 415 for another coding', async () => {
    const records = JSON.stringify([{ message: 'zipped 1' }, { message: 'zipped 2' }]);
    assert.equal((await send(gzipSync(records), { 'content-encoding': 'gzip' })).status, 200);
    assert.equal((await send(deflateSync(records), { 'content-encoding': 'deflate' })).status, 200);
    assert.deepEqual(
      h.envelopes().map((e) => e.message),
      ['zipped 1', 'zipped 2', 'zipped 1', 'zipped 2'],
    );
    // 5 KiB of JSON in a few hundred bytes of gzip: under the wire bound, over the 4 KiB inflated bound.
    const bomb = gzipSync(JSON.stringify({ message: 'a'.repeat(5000) }));
    assert.ok(bomb.length < 200);
    const tooLarge = await send(bomb, { 'content-encoding': 'gzip' });
    assert.equal(tooLarge.status, 413);
    assert.match(await tooLarge.text(), /inflates to more than 4096 bytes/);
    assert.equal((await send(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' })).status, 400);
    assert.equal((await send(records, { 'content-encoding': 'br' })).status, 415);
    assert.equal(await h.metric('fanin_receiver_http_requests_total', { status: '413' }), 1);
  });

  it('closes a connection idle before its first request and one idle between requests, and counts both', async () => {
    const before = await h.metric('fanin_receiver_idle_timeouts_total', { transport: 'http' });
    const silent = await rawExchange(server.port, Buffer.alloc(0), 3000);
    assert.equal(silent.closed, true, 'a connection that never sends a request is closed');
    const keptAlive = post('/app.web', '{"message":"then idle"}', { authorization: 'Bearer s3cret' })
      .toString()
      .replace('connection: close', 'connection: keep-alive');
    const idleAfter = await rawExchange(server.port, Buffer.from(keptAlive), 3000);
    assert.match(idleAfter.text, /^HTTP\/1.1 200/);
    assert.equal(idleAfter.closed, true, 'a keep-alive connection idle after its answer is closed');
    assert.equal(await h.metric('fanin_receiver_idle_timeouts_total', { transport: 'http' }), before + 2);
  });

  it('checks tokens in constant time, whatever the form', () => {
    const check = bearerCheck('tok');
    assert.equal(check('Bearer tok'), true);
    assert.equal(check('bearer   tok'), true);
    assert.equal(check('Bearer tok2'), false);
    assert.equal(check(undefined), false);
    assert.equal(bearerCheck('')(undefined), true, 'no token configured: open');
  });
});

describe('HTTP input connection limits', () => {
  const h = harness();
  let server: HttpInput;
  const open: Socket[] = [];
  before(async () => {
    server = await startHttpInput(
      { ...base, idleTimeoutMs: 60_000, maxConnections: 8, maxConnectionsPerAddress: 5 },
      h.intake,
      h.metrics,
      log,
    );
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
  });
  after(() => server.close(200));

  /** Opens an idle connection from `localAddress`; resolves true if the receiver closed it at once. */
  const idle = (localAddress: string) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ port: server.port, host: '127.0.0.1', localAddress });
      open.push(s);
      s.on('error', () => undefined);
      const timer = setTimeout(() => resolve(false), 300);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  it('refuses idle connections past the per-address limit and past the total, counted by reason', async () => {
    const results: boolean[] = [];
    for (let i = 0; i < 7; i++) results.push(await idle('127.0.0.1'));
    assert.deepEqual(
      results,
      [false, false, false, false, false, true, true],
      '5 held, the 6th and 7th from that address closed',
    );
    const others: boolean[] = [];
    for (let i = 0; i < 4; i++) others.push(await idle('127.0.0.2'));
    assert.deepEqual(others, [false, false, false, true], '8 in total: the 4th from another address is closed');
    assert.equal(
      await h.metric('fanin_receiver_connections_refused_total', {
        transport: 'http',
        reason: 'max_connections_per_address',
      }),
      2,
    );
    assert.equal(
      await h.metric('fanin_receiver_connections_refused_total', { transport: 'http', reason: 'max_connections' }),
      1,
    );
    assert.equal(await h.metric('fanin_receiver_connections', { transport: 'http' }), 8);
  });
});

describe('HTTP input behind the PROXY protocol', () => {
  const h = harness();
  let server: HttpInput;
  before(async () => {
    server = await startHttpInput(
      { ...base, proxyProtocol: 'any', maxConnectionsPerAddress: 1 },
      h.intake,
      h.metrics,
      log,
    );
  });
  beforeEach(() => {
    h.sealed.length = 0;
  });
  after(() => server.close(200));

  it("the header's sender is the event source, with the request in the same segment (v1 and v2)", async () => {
    const v1 = await rawExchange(
      server.port,
      Buffer.concat([
        encodeProxyV1({ address: '192.0.2.10', port: 5000 }, { address: '10.0.0.1', port: 80 }),
        post('/app.v1', '{"message":"v1"}'),
      ]),
    );
    const v2 = await rawExchange(
      server.port,
      Buffer.concat([
        encodeProxyV2({ address: '2001:db8::10', port: 5001 }, { address: '2001:db8::1', port: 80 }),
        post('/app.v2', '{"message":"v2"}'),
      ]),
    );
    assert.match(v1.text, /^HTTP\/1.1 200/);
    assert.match(v2.text, /^HTTP\/1.1 200/);
    assert.deepEqual(
      h.envelopes().map((e) => [e.tag, e.source]),
      [
        ['app.v1', '192.0.2.10'],
        ['app.v2', '2001:db8::10'],
      ],
    );
    assert.equal(
      await h.metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'http', version: 'v1' }),
      1,
    );
    assert.equal(
      await h.metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'http', version: 'v2' }),
      1,
    );
  });

  it("a LOCAL header (a balancer's health check) keeps the connection's own address", async () => {
    const local = await rawExchange(
      server.port,
      Buffer.concat([encodeProxyV2(null, null), post('/app.local', '{"message":"check"}')]),
    );
    assert.match(local.text, /^HTTP\/1.1 200/);
    assert.equal(h.envelopes()[0]!.source, '127.0.0.1');
  });

  it('refuses a request without a header, a malformed header and a header that never completes; counted by reason', async () => {
    const missing = await rawExchange(server.port, post('/app.x', '{"message":"direct"}'));
    assert.deepEqual(missing, { text: '', closed: true });
    const malformed = await rawExchange(server.port, Buffer.from('PROXY TCP4 999.0.0.1 10.0.0.1 1 2\r\n'));
    assert.deepEqual(malformed, { text: '', closed: true });
    const slow = await rawExchange(server.port, Buffer.from('PROXY TCP4 192.0.2.1'), 2000);
    assert.equal(slow.closed, true, 'closed after receiver.proxyProtocolTimeoutMs');
    assert.deepEqual(h.envelopes(), []);
    for (const reason of ['missing', 'malformed', 'timeout']) {
      assert.equal(
        await h.metric('fanin_receiver_proxy_protocol_rejected_total', { transport: 'http', reason }),
        1,
        reason,
      );
    }
  });

  it('the per-address limit applies to the sender the header names, not to the balancer', async () => {
    const header = (address: string) => encodeProxyV1({ address, port: 1 }, { address: '10.0.0.1', port: 80 });
    const held = connect({ port: server.port, host: '127.0.0.1' });
    held.on('error', () => undefined);
    held.write(header('192.0.2.20'));
    await new Promise((r) => setTimeout(r, 100));
    const sameSender = await rawExchange(
      server.port,
      Buffer.concat([header('192.0.2.20'), post('/app.y', '{"message":"2nd"}')]),
    );
    const otherSender = await rawExchange(
      server.port,
      Buffer.concat([header('192.0.2.21'), post('/app.y', '{"message":"other"}')]),
    );
    held.destroy();
    assert.deepEqual(sameSender, { text: '', closed: true }, 'a second connection of 192.0.2.20 is refused');
    assert.match(otherSender.text, /^HTTP\/1.1 200/, 'through the same balancer, another sender is admitted');
  });
});

describe('HTTPS input', () => {
  const h = harness();
  const pki = makeTestCertificates();
  const credentials = loadTlsCredentials({
    certFile: pki.server.cert,
    keyFile: pki.server.key,
    caFile: '',
    requireClientCert: false,
  });
  let server: HttpInput;
  let proxied: HttpInput;
  before(async () => {
    const tls = { credentials, requireClientCert: false, handshakeTimeoutMs: 1000 };
    server = await startHttpInput({ ...base, tls }, h.intake, h.metrics, log);
    proxied = await startHttpInput({ ...base, tls, proxyProtocol: 'v2' }, h.intake, h.metrics, log);
  });
  beforeEach(() => {
    h.sealed.length = 0;
  });
  after(async () => {
    await Promise.all([server.close(200), proxied.close(200)]);
  });

  const httpsPost = (port: number, body: string, socket?: Socket) =>
    new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/app.secure',
          method: 'POST',
          ca: readFileSync(pki.caFile),
          servername: 'localhost',
          headers: { 'content-type': 'application/json' },
          ...(socket
            ? { createConnection: () => tlsConnect({ socket, ca: readFileSync(pki.caFile), servername: 'localhost' }) }
            : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it("takes a request over TLS with the receiver's certificate", async () => {
    assert.equal(await httpsPost(server.port, '{"message":"over tls"}'), 200);
    assert.deepEqual(
      h.envelopes().map((e) => [e.message, e.transport]),
      [['over tls', 'http']],
    );
  });

  it('a plain-text request to the TLS port is refused and counted as a failed handshake', async () => {
    const plain = await rawExchange(server.port, post('/app.x', '{"message":"plain"}'));
    assert.equal(plain.closed, true);
    assert.equal(await h.metric('fanin_receiver_http_tls_handshake_failures_total'), 1);
  });

  it('PROXY v2 then TLS in the same segment: the ClientHello put back after the header is read by TLS', async () => {
    const raw = connect({ port: proxied.port, host: '127.0.0.1' });
    await new Promise((r) => raw.once('connect', r));
    // Corked: the header and the ClientHello leave in one write.
    raw.cork();
    raw.write(encodeProxyV2({ address: '198.51.100.77', port: 4433 }, { address: '10.0.0.1', port: 443 }));
    const status = httpsPost(proxied.port, '{"message":"proxied tls"}', raw);
    setImmediate(() => raw.uncork());
    assert.equal(await status, 200);
    assert.deepEqual(
      h.envelopes().map((e) => [e.message, e.source]),
      [['proxied tls', '198.51.100.77']],
    );
  });
});
