import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encode } from '@msgpack/msgpack';
import { metricValue } from '../../support/local-fleet-process.js';
import { Haproxy, haproxyMissing } from '../../support/haproxy.js';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { closedWithin, openTcp, openTls } from '../../support/sockets.js';
import { makeTestCertificates } from '../../support/test-certs.js';

/**
 * A real HAProxy in front of a real receiver (receiver.proxyProtocol=any): syslog TCP through `send-proxy` (v1), syslog
 * TLS (passed through), Forward and HTTP through `send-proxy-v2`, Forward with health checks that send a LOCAL header.
 * Senders connect to HAProxy from 127.0.0.2; HAProxy connects to the receiver from 127.0.0.1. Every event must name
 * 127.0.0.2 as its source: without the header it would be the balancer's address.
 */
const SENDER = '127.0.0.2';

describe('PROXY protocol behind a real HAProxy', { skip: haproxyMissing() ?? false }, () => {
  let r: InProcessReceiver;
  let lb: Haproxy;
  let dir: string;
  let front: { syslog: number; tls: number; forward: number; http: number };
  let back: { forward: number; http: number };
  const pki = makeTestCertificates();

  before(async () => {
    const [ready, syslog, tls, forward, http, bForward, bHttp] = (await freePorts(7)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    front = { syslog, tls, forward, http };
    back = { forward: bForward, http: bHttp };
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_PROXY_PROTOCOL: 'any',
      FANIN_RECEIVER_FORWARD_PORT: String(bForward),
      FANIN_RECEIVER_HTTP_PORT: String(bHttp),
      FANIN_RECEIVER_TLS_CERT_FILE: pki.server.cert,
      FANIN_RECEIVER_TLS_KEY_FILE: pki.server.key,
    });
    dir = mkdtempSync(join(tmpdir(), 'fanin-haproxy-'));
    lb = await Haproxy.start(
      dir,
      [
        'frontend syslog',
        `  bind 127.0.0.1:${syslog}`,
        '  default_backend syslog',
        'backend syslog',
        `  server r 127.0.0.1:${r.ports.syslog} send-proxy`,
        'frontend syslogtls',
        `  bind 127.0.0.1:${tls}`,
        '  default_backend syslogtls',
        'backend syslogtls',
        `  server r 127.0.0.1:${r.ports.tls} send-proxy-v2`,
        'frontend forward',
        `  bind 127.0.0.1:${forward}`,
        '  default_backend forward',
        'backend forward',
        `  server r 127.0.0.1:${bForward} send-proxy-v2 check check-send-proxy inter 300`,
        'frontend http',
        `  bind 127.0.0.1:${http}`,
        '  mode http',
        '  default_backend http',
        'backend http',
        '  mode http',
        `  server r 127.0.0.1:${bHttp} send-proxy-v2`,
      ].join('\n'),
      ready,
    );
  });
  after(async () => {
    await lb?.stop();
    await r?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const marker = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
  const metric = async (name: string, labels: Record<string, string>) =>
    metricValue(await r.metricsText(), name, labels);

  it("syslog over TCP through send-proxy (v1): the event's source is the sender, not HAProxy", async () => {
    const m = marker('lb-tcp');
    const s = await openTcp(front.syslog, SENDER);
    s.end(`<13>1 2026-12-07T10:00:00Z host app - - - ${m}\n`);
    const [e] = await r.settled(m, 1);
    assert.deepEqual([e!.source, e!.transport], [SENDER, 'tcp']);
    assert.ok((await metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'tcp', version: 'v1' })) >= 1);
  });

  it("syslog over TLS passed through with send-proxy-v2: the header, then the sender's own handshake", async () => {
    const m = marker('lb-tls');
    const s = await openTls({
      socket: await openTcp(front.tls, SENDER),
      ca: readFileSync(pki.caFile),
      servername: 'localhost',
    });
    s.end(`<13>1 2026-12-07T10:00:00Z host app - - - ${m}\n`);
    const [e] = await r.settled(m, 1);
    assert.deepEqual([e!.source, e!.transport], [SENDER, 'tls']);
    assert.ok((await metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'tls', version: 'v2' })) >= 1);
  });

  it('Forward through send-proxy-v2, with HAProxy health checks sending LOCAL headers (taken, own address)', async () => {
    const m = marker('lb-forward');
    const s = await openTcp(front.forward, SENDER);
    s.end(encode(['app.lb', 1_700_000_000, { message: m }]));
    const [e] = await r.settled(m, 1);
    assert.deepEqual([e!.source, e!.transport], [SENDER, 'forward']);
    assert.ok(
      (await metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'forward', version: 'v2' })) >= 1,
    );
    assert.ok(
      (await metric('fanin_receiver_proxy_protocol_headers_total', { transport: 'forward', version: 'local' })) >= 1,
      'health checks',
    );
    assert.equal(
      await metric('fanin_receiver_proxy_protocol_rejected_total', { transport: 'forward', reason: 'malformed' }),
      0,
    );
  });

  it('HTTP (HAProxy in http mode, send-proxy-v2), sent by curl', async () => {
    const m = marker('lb-http');
    const { stdout } = await promisify(execFile)(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--interface',
        SENDER,
        '-H',
        'content-type: application/json',
        '--data-binary',
        JSON.stringify({ message: m }),
        `http://127.0.0.1:${front.http}/app.lb`,
      ],
      { timeout: 10_000 },
    );
    assert.equal(stdout, '200');
    const [e] = await r.settled(m, 1);
    assert.deepEqual([e!.source, e!.transport], [SENDER, 'http']);
  });

  it('a sender that bypasses the balancer (no header) is closed and counted, on every input', async () => {
    for (const [transport, port] of [
      ['tcp', r.ports.syslog],
      ['forward', back.forward],
      ['http', back.http],
    ] as const) {
      const s = await openTcp(port, SENDER);
      s.write('<13>1 2026-12-07T10:00:00Z host app - - - bypass\n');
      assert.equal(await closedWithin(s, 2000), true, transport);
      assert.ok(
        (await metric('fanin_receiver_proxy_protocol_rejected_total', { transport, reason: 'missing' })) >= 1,
        transport,
      );
    }
    assert.equal(r.landed('bypass').length, 0);
  });
});
