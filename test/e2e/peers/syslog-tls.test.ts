import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePorts } from '../../../testkit/free-ports.js';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { Rsyslogd, rsyslogInput, rsyslogMissing } from '../../support/rsyslogd.js';
import { closedWithin, openTcp, openTls } from '../../support/sockets.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certs.js';

const CLI = fileURLToPath(new URL('../../../cli/fanin.js', import.meta.url));
const HANDSHAKE_MS = 1000;
const IDLE_MS = 1500;

/**
 * Syslog over TLS (RFC 5425) with mutual TLS, on a real receiver: Node and rsyslog (gtls) as senders, refused
 * clients, handshake timeout, and the start-up behaviour without a certificate or with an incomplete configuration.
 */
describe('syslog over TLS', () => {
  let pki: TestCertificates;
  let r: InProcessReceiver;
  before(async () => {
    pki = makeTestCertificates();
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_TLS_CERT_FILE: pki.server.cert,
      FANIN_RECEIVER_TLS_KEY_FILE: pki.server.key,
      FANIN_RECEIVER_TLS_CA_FILE: pki.caFile,
      FANIN_RECEIVER_TLS_REQUIRE_CLIENT_CERT: 'true',
      FANIN_RECEIVER_TLS_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_MS),
      FANIN_RECEIVER_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
  });
  after(async () => {
    await r.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  const marker = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
  const line = (text: string) => `<13>1 2026-11-23T00:00:00Z host app - - - ${text}`;
  const octet = (text: string) => {
    const b = Buffer.from(text);
    return Buffer.concat([Buffer.from(`${b.length} `), b]);
  };
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricValue(await r.metricsText(), name, labels);
  const failures = (reason: string) => metric('fanin_receiver_tls_handshake_failures_total', { reason });
  const clientOptions = (extra: ConnectionOptions = {}): ConnectionOptions => ({
    host: '127.0.0.1',
    port: r.ports.tls,
    servername: 'localhost',
    ca: readFileSync(pki.caFile),
    ...extra,
  });
  const withCert = (pair: { cert: string; key: string }) => ({
    cert: readFileSync(pair.cert),
    key: readFileSync(pair.key),
  });

  it('lands frames from a client with a certificate of the trusted CA, as transport "tls" (octet counting and newlines)', async () => {
    const m = marker('tls-ok');
    const s = await openTls(clientOptions(withCert(pki.client)));
    assert.ok(s.authorized, 'the client verified the receiver certificate against the CA');
    s.write(octet(line(`${m} one`)));
    s.end(`${line(`${m} two`)}\n`);
    const events = await r.settled(m, 2);
    assert.deepEqual(
      events.map((e) => e.message),
      [`${m} one`, `${m} two`],
    );
    assert.ok(events.every((e) => e.transport === 'tls' && e.source === '127.0.0.1' && e.format === 'rfc5424'));
  });

  for (const [name, extra] of [
    ['no client certificate', {}],
    ['a certificate of another CA', 'rogue'],
  ] as const) {
    it(`mutual TLS: refuses a client with ${name}, counts it, lands nothing`, async () => {
      const m = marker('tls-refused');
      const before = await failures('client_certificate');
      const s = await openTls(clientOptions(extra === 'rogue' ? withCert(pki.rogueClient) : {})).catch(() => null);
      // TLS 1.3: the client may finish its side before the receiver checked the certificate; its data goes nowhere.
      s?.write(`${line(m)}\n`);
      if (s) assert.ok(await closedWithin(s, 2000), 'the receiver closed the connection');
      await waitFor(
        'failure counted',
        async () => ((await failures('client_certificate')) === before + 1 ? true : undefined),
        3000,
      );
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(r.landed(m).length, 0);
    });
  }

  it('cuts a handshake that does not complete within receiver.tlsHandshakeTimeoutMs, however slowly it trickles', async () => {
    const before = await failures('timeout');
    const s = await openTcp(r.ports.tls);
    const started = Date.now();
    // A TLS record header, then one byte every 100 ms: each byte is activity, none completes the ClientHello.
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00]));
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write(Buffer.from([0x01]));
    }, 100);
    const closed = await closedWithin(s, HANDSHAKE_MS + 2000);
    clearInterval(trickle);
    const elapsed = Date.now() - started;
    assert.ok(closed && elapsed >= HANDSHAKE_MS - 100 && elapsed < HANDSHAKE_MS + 1500, `closed after ${elapsed} ms`);
    await waitFor('timeout counted', async () => ((await failures('timeout')) === before + 1 ? true : undefined), 3000);
    await waitFor(
      'its slot released',
      async () => ((await metric('fanin_receiver_connections', { transport: 'tls' })) === 0 ? true : undefined),
      3000,
    );
  });

  it('closes a TLS connection idle for receiver.idleTimeoutMs after its handshake, and counts it', async () => {
    const m = marker('tls-idle');
    const before = await metric('fanin_receiver_idle_timeouts_total', { transport: 'tls' });
    const s = await openTls(clientOptions(withCert(pki.client)));
    const started = Date.now();
    s.write(`${line(m)}\n`);
    assert.ok(await closedWithin(s, IDLE_MS + 2000), 'closed');
    assert.ok(Date.now() - started >= IDLE_MS - 100, `closed after ${Date.now() - started} ms`);
    assert.equal(await metric('fanin_receiver_idle_timeouts_total', { transport: 'tls' }), before + 1);
    assert.equal(r.landed(m).length, 1);
    await waitFor(
      'every TLS connection slot released',
      async () => ((await metric('fanin_receiver_connections', { transport: 'tls' })) === 0 ? true : undefined),
      3000,
    );
  });

  it('closes plain-text syslog sent to the TLS port, counted as a protocol failure', async () => {
    const before = await failures('protocol');
    const s = await openTcp(r.ports.tls);
    s.write(`${line('plain text on the TLS port')}\n`);
    assert.ok(await closedWithin(s, 2000));
    await waitFor(
      'protocol failure counted',
      async () => ((await failures('protocol')) === before + 1 ? true : undefined),
      3000,
    );
  });

  const missing = rsyslogMissing(true);
  it('lands what a real rsyslog forwards over TLS (gtls driver, mutual TLS, x509/name, octet counting)', async () => {
    if (missing) assert.fail(missing); // CI installs rsyslog and rsyslog-gnutls (.ci/run)
    const m = marker('rsyslog-gtls');
    const [inputPort] = (await freePorts(1)) as [number];
    const dir = join(pki.dir, 'rsyslog');
    const globals = ` DefaultNetstreamDriverCAFile="${pki.caFile}" DefaultNetstreamDriverCertFile="${pki.client.cert}" DefaultNetstreamDriverKeyFile="${pki.client.key}"`;
    const rsyslog = await Rsyslogd.start(
      dir,
      rsyslogInput(
        inputPort,
        join(dir, 'work'),
        [
          `  action(type="omfwd" target="127.0.0.1" port="${r.ports.tls}" protocol="tcp" TCP_Framing="octet-counted"`,
          '         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"',
          '         template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1")',
        ].join('\n'),
        globals,
      ),
      inputPort,
    );
    try {
      const s = await openTcp(inputPort);
      for (let i = 0; i < 50; i++) s.write(`<134>fanin-tls: ${m} seq=${i}\n`);
      await new Promise<void>((res) => s.end(res));
      const events = await r.settled(m, 50, 15_000);
      assert.equal(events.length, 50, rsyslog.output);
      assert.deepEqual(new Set(events.map((e) => /seq=(\d+)/.exec(e.message ?? '')?.[1])).size, 50);
      assert.ok(
        events.every((e) => e.transport === 'tls' && e.app_name === 'fanin-tls' && e.tag === 'syslog.local0.info'),
      );
    } finally {
      await rsyslog.stop();
    }
  });
});

describe('syslog TLS start-up (the real `fanin receiver`)', () => {
  const namespace = uniqueNamespace('tlsboot');
  const spoolDir = mkdtempSync(join(tmpdir(), 'fanin-tlsboot-spool-'));
  after(async () => {
    await cleanupNamespace(namespace);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const runReceiverProcess = async (env: Record<string, string>, until: RegExp | 'exit') => {
    const [syslog, tls, metrics] = (await freePorts(3)) as [number, number, number];
    const child = spawn(process.execPath, [CLI, 'receiver'], {
      env: {
        ...process.env,
        FANIN_NAMESPACE: namespace,
        FANIN_AMQP_URL: AMQP_URL,
        FANIN_LOG_LEVEL: 'info',
        FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
        FANIN_RECEIVER_SYSLOG_PORT: String(syslog),
        FANIN_RECEIVER_SYSLOG_TLS_PORT: String(tls),
        FANIN_RECEIVER_HTTP_PORT: '0',
        FANIN_RECEIVER_FORWARD_PORT: '0',
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: String(metrics),
        FANIN_RECEIVER_SPOOL_DIR: spoolDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    if (until === 'exit') {
      const code = await exited;
      clearTimeout(kill);
      return { out, code, tls };
    }
    await waitFor(`receiver output ${String(until)}`, () => (until.test(out) ? true : undefined), 15_000);
    const snapshot = out;
    const tlsRefused = await openTcp(tls).then(
      (s) => {
        s.destroy();
        return false;
      },
      () => true,
    );
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(kill);
    return { out: snapshot, code, tls, tlsRefused };
  };

  it('without a certificate the TLS listener is not started, with one warning, and the rest of the receiver runs', async () => {
    const { out, code, tlsRefused } = await runReceiverProcess({}, /receiver listening/);
    const warnings = out.split('\n').filter((l) => l.includes('syslog TLS not started'));
    assert.equal(warnings.length, 1, out);
    assert.equal((JSON.parse(warnings[0]!) as { level: number }).level, 40);
    assert.equal(tlsRefused, true, 'nothing listens on the TLS port');
    assert.equal(code, 0);
  });

  it('refuses to start with mutual TLS but no CA file, naming the setting', async () => {
    const pki = makeTestCertificates();
    try {
      const { out, code } = await runReceiverProcess(
        {
          FANIN_RECEIVER_TLS_CERT_FILE: pki.server.cert,
          FANIN_RECEIVER_TLS_KEY_FILE: pki.server.key,
          FANIN_RECEIVER_TLS_REQUIRE_CLIENT_CERT: 'true',
        },
        'exit',
      );
      assert.equal(code, 78, 'EX_CONFIG: a restart cannot help');
      assert.match(
        out,
        /receiver\.tlsCaFile \(FANIN_RECEIVER_TLS_CA_FILE\): required with receiver\.tlsRequireClientCert/,
      );
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});
