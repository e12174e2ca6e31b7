import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCli, warnings } from '../../support/cli-run.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { AMQP_URL, cleanupNamespace, REDIS_URL, uniqueNamespace, waitFor } from '../../../testkit/services.js';

/**
 * Each role started as users start it, on the real RabbitMQ and Redis: SIGHUP (logrotate's signal) does what
 * SIGUSR1 does instead of killing the process, and a SIGTERM drain with nothing wrong logs no warning.
 */
describe('roles and signals', () => {
  const namespace = uniqueNamespace('clisig');
  const dir = mkdtempSync(join(tmpdir(), 'fanin-clisig-'));
  after(async () => {
    await cleanupNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  });
  const baseEnv = (metricsPort: number): Record<string, string> => ({
    FANIN_NAMESPACE: namespace,
    FANIN_AMQP_URL: AMQP_URL,
    FANIN_REDIS_URL: REDIS_URL,
    FANIN_LOG_LEVEL: 'info',
    FANIN_METRICS_HOST: '127.0.0.1',
    FANIN_METRICS_PORT: String(metricsPort),
    FANIN_UPLOADER_FILE_SINK_DIR: join(dir, 'out'),
    FANIN_UPLOADER_SECONDARY_DIR: join(dir, 'secondary'),
    FANIN_RECEIVER_SPOOL_DIR: join(dir, 'spool'),
  });
  const ready = (port: number) =>
    waitFor(
      `readyz on ${port}`,
      async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok ? true : undefined),
      30_000,
    );
  const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  it('receiver: SIGHUP publishes the open batch and the receiver keeps running; SIGTERM drains without a warning', async () => {
    const [syslog, metricsPort] = (await freePorts(2)) as [number, number];
    const p = new CliProcess(['receiver'], {
      ...baseEnv(metricsPort),
      FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
      FANIN_RECEIVER_SYSLOG_PORT: String(syslog),
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
      FANIN_RECEIVER_FORWARD_PORT: '0',
      FANIN_RECEIVER_HTTP_PORT: '0',
      FANIN_RECEIVER_BATCH_MAX_DELAY_MS: '600000',
      FANIN_RECEIVER_BATCH_MAX_EVENTS: '10000',
    });
    try {
      await ready(metricsPort);
      await p.waitForOutput(/receiver listening/);
      const socket = createSocket('udp4');
      await new Promise<void>((res, rej) =>
        socket.send(Buffer.from('<13>1 - - - - - - hup-flush'), syslog, '127.0.0.1', (e) => (e ? rej(e) : res())),
      );
      socket.close();
      await waitFor('the event received', async () =>
        metricValue(await metrics(metricsPort), 'fanin_receiver_events_received_total') === 1 ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        metricValue(await metrics(metricsPort), 'fanin_receiver_events_published_total'),
        0,
        'held in the open batch (10 min age bound)',
      );
      p.child.kill('SIGHUP');
      await waitFor(
        'the open batch published',
        async () =>
          metricValue(await metrics(metricsPort), 'fanin_receiver_events_published_total') === 1 ? true : undefined,
        10_000,
      );
      await p.waitForOutput(/"signal":"SIGHUP".*flushing the open batch/);
      assert.ok(p.running, 'SIGHUP did not end the receiver');
    } finally {
      const { code } = await p.stop();
      assert.equal(code, 0);
    }
    assert.deepEqual(warnings(p.stdout + p.stderr), [], 'a clean drain logs no warning');
  });

  for (const role of ['worker', 'uploader'] as const) {
    it(`${role}: SIGHUP and SIGUSR1 leave it running (the uploader reopens its files); SIGTERM drains without a warning`, async () => {
      const [metricsPort] = (await freePorts(1)) as [number];
      const p = new CliProcess([role], baseEnv(metricsPort));
      try {
        await ready(metricsPort);
        for (const signal of ['SIGHUP', 'SIGUSR1'] as const) {
          p.child.kill(signal);
          await p.waitForOutput(
            new RegExp(`"signal":"${signal}".*${role === 'uploader' ? 'reopening sink files' : 'nothing to reopen'}`),
            10_000,
          );
        }
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(p.running, 'SIGHUP did not end it');
        assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200);
      } finally {
        const { code } = await p.stop();
        assert.equal(code, 0);
      }
      assert.match(p.stdout, /drained; exiting/);
      assert.deepEqual(warnings(p.stdout + p.stderr), [], 'a clean drain logs no warning');
    });
  }

  it('a port already taken ends the receiver with exit 78 and a line naming the address', async () => {
    const [taken, metricsPort] = (await freePorts(2)) as [number, number];
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(taken, '127.0.0.1', r));
    try {
      const r = await runCli(
        ['receiver'],
        {
          ...baseEnv(metricsPort),
          FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
          FANIN_RECEIVER_SYSLOG_PORT: '0',
          FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
          FANIN_RECEIVER_FORWARD_PORT: '0',
          FANIN_RECEIVER_HTTP_PORT: String(taken),
        },
        30_000,
      );
      assert.equal(r.code, 78, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^fanin: cannot listen on 127\\.0\\.0\\.1:${taken}: the address is already in use by another process \\(EADDRINUSE\\)`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
