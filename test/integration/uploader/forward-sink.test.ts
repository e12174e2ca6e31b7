import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../../../shared/logger.js';
import { chunkIdFor } from '../../../uploader/forward-sink/forward-entries.js';
import { ForwardSendError } from '../../../uploader/forward-sink/forward-errors.js';
import {
  forwardSinkOptionsFromConfig,
  type ForwardSinkSettings,
} from '../../../uploader/forward-sink/forward-sink-config.js';
import { ForwardSink } from '../../../uploader/forward-sink/forward-sink.js';
import { batchOf, forwardEnvelope, metric, sinkSettings, syslogEnvelope } from '../../support/forward-fixtures.js';
import {
  closedPort,
  ScriptedForwardServer,
  type ScriptedServerOptions,
} from '../../support/scripted-forward-server.js';
import { waitFor } from '../../../testkit/services.js';

const log = createLogger('test', 'forward-sink', 'silent');

describe('forward sink against a scripted aggregator', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  const server = async (options: ScriptedServerOptions = {}) => {
    const s = await new ScriptedForwardServer(options).start();
    cleanup.push(() => s.close());
    return s;
  };
  const sink = (servers: string, over: Partial<ForwardSinkSettings> = {}) => {
    const registry = new Registry();
    const s = new ForwardSink(forwardSinkOptionsFromConfig(sinkSettings(servers, over)), registry, log);
    cleanup.push(() => s.close());
    return { sink: s, registry };
  };

  const batches = () => [
    batchOf('a:boot:1', [
      ['e1', syslogEnvelope()],
      ['e2', forwardEnvelope({ log: 'x', n: 1 })],
      ['e3', syslogEnvelope({ message: 'second' })],
    ]),
    batchOf('a:boot:2', [
      ['e4', forwardEnvelope({ log: 'y', n: 2 }, { tag: 'app.api', time: null, received_at: 1772360432750 })],
    ]),
  ];

  for (const compress of ['text', 'gzip'] as const) {
    it(`delivers tags, event times and records, and every chunk id is echoed in an ack (${compress})`, async () => {
      const agg = await server();
      const { sink: s, registry } = sink(`127.0.0.1:${agg.port}`, { forwardSinkCompress: compress });
      const result = await s.write(batches());
      assert.equal(result.written, 4);
      assert.equal(result.rejected, 0);
      assert.deepEqual([...result.receivedAt].sort(), [1772360431000, 1772360431000, 1772360431500, 1772360432750]);
      assert.deepEqual(agg.messages.map((m) => [m.tag, m.option.size, m.entriesWereBinary, m.acked]).sort(), [
        ['app.api', 1, true, true],
        ['app.web', 1, true, true],
        ['syslog.auth.warn', 2, true, true],
      ]);
      assert.ok(agg.messages.every((m) => m.option.compressed === (compress === 'gzip' ? 'gzip' : undefined)));
      const byId = new Map(agg.events.map((e) => [e.record.fanin_id, e]));
      assert.deepEqual(byId.get('e1'), {
        tag: 'syslog.auth.warn',
        seconds: 1772360430,
        nanoseconds: 123_456_000,
        chunk: chunkIdFor('syslog.auth.warn', ['e1', 'e3']),
        record: {
          host: 'web1',
          ident: 'sshd',
          pid: '4242',
          msgid: 'ID47',
          message: 'login failed',
          facility: 'auth',
          severity: 'warn',
          structured_data: { 'ex@1': { a: '1' } },
          format: 'rfc5424',
          source_address: '10.0.0.7',
          fanin_id: 'e1',
        },
      });
      assert.deepEqual(byId.get('e2'), {
        tag: 'app.web',
        seconds: 1772360430,
        nanoseconds: 1,
        chunk: chunkIdFor('app.web', ['e2']),
        record: { log: 'x', n: 1, fanin_id: 'e2' },
      });
      assert.deepEqual(
        [byId.get('e4')!.seconds, byId.get('e4')!.nanoseconds],
        [1772360432, 750_000_000],
        'no sender time: receipt time',
      );
      assert.equal(await metric(registry, 'fanin_uploader_forward_acks_received_total'), 3);
      assert.equal(
        await metric(registry, 'fanin_uploader_forward_chunks_sent_total', { server: `127.0.0.1:${agg.port}` }),
        3,
      );
      assert.ok((await metric(registry, 'fanin_uploader_forward_bytes_sent_total')) > 100);
      assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', { server: `127.0.0.1:${agg.port}` }), 1);
    });
  }

  it('does not resend chunks a server already acknowledged when a write is retried', async () => {
    const agg = await server();
    const { sink: s, registry } = sink(`127.0.0.1:${agg.port}`);
    await s.write(batches());
    await s.write(batches());
    assert.equal(agg.messages.length, 3);
    assert.equal(await metric(registry, 'fanin_uploader_forward_chunks_skipped_total'), 3);
  });

  it('resends a chunk whose ack does not come to the next server, and counts it', async () => {
    const silent = await server({ ack: () => 'drop' });
    const good = await server();
    const { sink: s, registry } = sink(`127.0.0.1:${silent.port},127.0.0.1:${good.port}`, {
      forwardSinkAckResponseTimeoutMs: 500,
    });
    // Enough chunks that the rotation sends some to the silent server first.
    const many = Array.from({ length: 8 }, (_, i) => batchOf(`a:boot:${i}`, [[`m${i}`, forwardEnvelope({ i })]]));
    const result = await s.write(many);
    assert.equal(result.written, 8);
    const delivered = new Set(good.events.map((e) => e.record.fanin_id));
    assert.equal(delivered.size, 8, 'every event acknowledged by the good server');
    const dropped = silent.messages.length;
    assert.ok(dropped > 0, 'the silent server got some chunks first');
    assert.equal(
      (await metric(registry, 'fanin_uploader_forward_ack_timeouts_total', { server: `127.0.0.1:${silent.port}` })) >=
        1,
      true,
    );
    assert.equal(
      await metric(registry, 'fanin_uploader_forward_resends_total', { server: `127.0.0.1:${good.port}` }),
      dropped,
    );
    for (const m of silent.messages) {
      assert.ok(
        good.messages.some((g) => g.option.chunk === m.option.chunk),
        'the resend carries the same chunk id',
      );
    }
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', { server: `127.0.0.1:${silent.port}` }), 0);
  });

  it('fails over to a standby server while the primary is down, and goes back when it recovers', async () => {
    const primaryPort = await closedPort();
    const standby = await server();
    const { sink: s, registry } = sink(`127.0.0.1:${primaryPort},127.0.0.1:${standby.port}:standby`);
    const primary = `127.0.0.1:${primaryPort}`;
    assert.equal(
      await metric(registry, 'fanin_uploader_forward_server_active', { server: `127.0.0.1:${standby.port}` }),
      0,
      'standby idle while the primary is up',
    );
    const result = await s.write(batches());
    assert.equal(result.written, 4);
    assert.equal(new Set(standby.events.map((e) => e.record.fanin_id)).size, 4);
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', { server: primary }), 0);
    assert.equal(
      await metric(registry, 'fanin_uploader_forward_server_active', { server: `127.0.0.1:${standby.port}` }),
      1,
    );
    assert.ok(
      (await metric(registry, 'fanin_uploader_forward_send_failures_total', { server: primary, reason: 'connect' })) >=
        1,
    );

    const back = await server({ port: primaryPort });
    await waitFor(
      'primary back in rotation',
      async () => (await metric(registry, 'fanin_uploader_forward_server_up', { server: primary })) === 1 || undefined,
      5000,
      20,
    );
    await s.write([batchOf('a:boot:9', [['late', forwardEnvelope({ late: true })]])]);
    assert.deepEqual(
      back.events.map((e) => e.record.fanin_id),
      ['late'],
      'the recovered primary gets new chunks, the standby none',
    );
    assert.equal(
      await metric(registry, 'fanin_uploader_forward_server_active', { server: `127.0.0.1:${standby.port}` }),
      0,
    );
  });

  it('sends again on a fresh connection when a kept-alive one was closed under it, without blaming the server', async () => {
    const agg = await server({ closeOnMessage: (n) => n === 1 });
    const { sink: s, registry } = sink(`127.0.0.1:${agg.port}`);
    const label = { server: `127.0.0.1:${agg.port}` };
    await s.write([batchOf('a:boot:1', [['r1', forwardEnvelope({ n: 1 })]])]);
    await s.write([batchOf('a:boot:2', [['r2', forwardEnvelope({ n: 2 })]])]);
    assert.deepEqual(
      agg.events.map((e) => e.record.fanin_id),
      ['r1', 'r2'],
    );
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', label), 1);
    assert.equal(await metric(registry, 'fanin_uploader_forward_send_failures_total', label), 0);
    assert.equal(await metric(registry, 'fanin_uploader_forward_resends_total', label), 1);
  });

  it('throws (so the uploader retries) when no server is available', async () => {
    const { sink: s } = sink(`127.0.0.1:${await closedPort()}`);
    await assert.rejects(
      s.write(batches()),
      (err) => err instanceof ForwardSendError && err.code === 'FORWARD_CONNECT_FAILED',
    );
    await assert.rejects(
      s.write(batches()),
      (err) => err instanceof ForwardSendError && err.code === 'FORWARD_NO_SERVER',
    );
  });

  it('detects a server that stops answering UDP heartbeats, and its recovery', async () => {
    const agg = await server({ udp: true });
    const { registry } = sink(`127.0.0.1:${agg.port}`, { forwardSinkHeartbeatType: 'udp' });
    const label = { server: `127.0.0.1:${agg.port}` };
    await waitFor('heartbeats answered', () => (agg.heartbeatsAnswered >= 3 ? true : undefined), 3000, 20);
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', label), 1);
    agg.answerUdp = false;
    await waitFor(
      'server down',
      async () => (await metric(registry, 'fanin_uploader_forward_server_up', label)) === 0 || undefined,
      3000,
      20,
    );
    agg.answerUdp = true;
    await waitFor(
      'server up again',
      async () => (await metric(registry, 'fanin_uploader_forward_server_up', label)) === 1 || undefined,
      3000,
      20,
    );
  });

  it('speaks Forward over TLS, verifying the server against the configured CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-fwd-tls-'));
    cleanup.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    const agg = await server({ tls: { key: readFileSync(key), cert: readFileSync(cert) }, sharedKey: 'k' });
    const { sink: verified } = sink(`127.0.0.1:${agg.port}`, {
      forwardSinkTls: true,
      forwardSinkTlsCaFile: cert,
      forwardSinkSharedKey: 'k',
    });
    assert.equal((await verified.write(batches())).written, 4);
    assert.equal(agg.events.length, 4);
    const { sink: untrusted } = sink(`127.0.0.1:${agg.port}`, { forwardSinkTls: true });
    await assert.rejects(
      untrusted.write(batches()),
      (err) =>
        err instanceof ForwardSendError && err.code === 'FORWARD_CONNECT_FAILED' && /self-signed/.test(err.message),
    );
  });

  describe('shared-key handshake', () => {
    it('sends after HELO/PING/PONG with the right key', async () => {
      const agg = await server({ sharedKey: 's3cret', hostname: 'aggregator-1' });
      const { sink: s } = sink(`127.0.0.1:${agg.port}`, { forwardSinkSharedKey: 's3cret' });
      assert.equal((await s.write(batches())).written, 4);
      assert.equal(agg.events.length, 4);
      assert.deepEqual(
        agg.pings,
        [{ hostname: 'fanin-test', username: '' }],
        'one handshake: the connection is kept alive',
      );
    });

    it('authenticates a user when the server asks for it', async () => {
      const agg = await server({ sharedKey: 'k', users: { alice: 'pw' } });
      const { sink: s } = sink(`127.0.0.1:${agg.port}`, {
        forwardSinkSharedKey: 'k',
        forwardSinkUsername: 'alice',
        forwardSinkPassword: 'pw',
      });
      assert.equal((await s.write(batches())).written, 4);
      const { sink: wrong } = sink(`127.0.0.1:${agg.port}`, {
        forwardSinkSharedKey: 'k',
        forwardSinkUsername: 'alice',
        forwardSinkPassword: 'nope',
      });
      await assert.rejects(wrong.write(batches()), /authentication failed: username\/password mismatch/);
    });

    it('fails with a reason, sending nothing, when the key is wrong', async () => {
      const agg = await server({ sharedKey: 's3cret' });
      const { sink: s, registry } = sink(`127.0.0.1:${agg.port}`, { forwardSinkSharedKey: 'guess' });
      await assert.rejects(
        s.write(batches()),
        (err) =>
          err instanceof ForwardSendError &&
          err.code === 'FORWARD_AUTH_FAILED' &&
          /shared_key mismatch/.test(err.message),
      );
      assert.equal(agg.messages.length, 0);
      assert.ok(agg.handshakeFailures >= 1);
      assert.ok((await metric(registry, 'fanin_uploader_forward_send_failures_total', { reason: 'auth' })) >= 1);
    });

    it('refuses a server that cannot prove it knows the key', async () => {
      // The server accepts any PING but signs its PONG with another key: an impostor.
      const agg = await server({ sharedKey: 'other', acceptAnyPing: true });
      const { sink: s } = sink(`127.0.0.1:${agg.port}`, { forwardSinkSharedKey: 'mine' });
      await assert.rejects(
        s.write(batches()),
        (err) =>
          err instanceof ForwardSendError &&
          err.code === 'FORWARD_AUTH_FAILED' &&
          /: shared key mismatch/.test(err.message),
      );
      assert.equal(agg.messages.length, 0);
    });

    it('says so when the server wants a handshake and no key is configured', async () => {
      const agg = await server({ sharedKey: 's3cret' });
      const { sink: s } = sink(`127.0.0.1:${agg.port}`);
      await assert.rejects(s.write(batches()), /requires a handshake; set uploader\.forwardSink\.sharedKey/);
    });
  });
});
