import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../../support/cli-run.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { Rsyslogd, rsyslogInput, rsyslogRelpMissing } from '../../support/rsyslogd.js';
import { AMQP_URL, cleanupNamespace, REDIS_URL, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { openTcp } from '../../support/sockets.js';
import { makeTestCertificates } from '../../support/test-certs.js';

/**
 * rsyslog's own reliable forwarding into fanin: a private rsyslogd takes numbered lines on imtcp and hands each to two
 * omrelp actions (each with a disk-assisted queue and endless retries), one to receiver a's RELP input and one to
 * receiver b's, with a dedup worker and an uploader writing the file sink, every one a real `fanin` process. One
 * receiver is stopped mid-stream and started again: with SIGTERM it answers what the broker confirmed and says
 * serverclose, and librelp resends every frame it has no answer for; with SIGKILL nothing is answered any more and
 * librelp resends the whole window. Either way nothing may be lost.
 */
const missing = rsyslogRelpMissing();

/** omrelp's windowSize (its default, set here because the SIGKILL bound below is this number). */
const WINDOW = 128;

interface SinkLine {
  message: string | null;
  transport: string;
  source: string | null;
  receiver: string;
}

/**
 * `count` consecutive ports free on 127.0.0.1 now, below the kernel's ephemeral range (32768+): a receiver restarted
 * mid-stream binds its port again, and in the ephemeral range an outgoing connection (rsyslog reconnecting, say) could
 * have taken it meanwhile. Bounded attempts.
 */
async function freePortsBelowEphemeral(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 1200) * 10;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(tcpFree))).every(Boolean)) return ports;
  }
  throw new Error('no free ports in 20000-32000');
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('rsyslog omrelp to two receivers, one restarted mid-stream', () => {
  // CI installs rsyslog-relp (.ci/run); without it this must fail, not pass silently.
  before(() => {
    if (missing) assert.fail(missing);
  });
  const namespace = uniqueNamespace('relp');
  const dir = mkdtempSync(join(tmpdir(), 'fanin-relp-'));
  const outDir = join(dir, 'out');
  let ports: {
    input: number;
    relpA: number;
    relpB: number;
    metricsA: number;
    metricsB: number;
    worker: number;
    uploader: number;
  };
  const receivers = new Map<string, CliProcess>();
  let worker: CliProcess;
  let uploader: CliProcess;
  let rsyslog: Rsyslogd | null = null;
  let rsyslogTls: Rsyslogd | null = null;

  const common = (metricsPort: number): Record<string, string> => ({
    FANIN_NAMESPACE: namespace,
    FANIN_AMQP_URL: AMQP_URL,
    FANIN_REDIS_URL: REDIS_URL,
    FANIN_LOG_LEVEL: 'warn',
    FANIN_METRICS_HOST: '127.0.0.1',
    FANIN_METRICS_PORT: String(metricsPort),
    FANIN_DRAIN_TIMEOUT_MS: '8000',
    FANIN_UPLOADER_FILE_SINK_DIR: outDir,
    FANIN_UPLOADER_SECONDARY_DIR: join(dir, 'secondary'),
    FANIN_RECEIVER_SPOOL_DIR: join(dir, 'spool'),
  });
  const ready = (port: number) =>
    waitFor(
      `readyz on ${port}`,
      async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok ? true : undefined),
      30_000,
    );
  const startReceiver = async (
    id: string,
    at = id === 'a' ? [ports.relpA, ports.metricsA] : [ports.relpB, ports.metricsB],
    env: Record<string, string> = {},
  ) => {
    const [relp, metricsPort] = at as [number, number];
    const p = new CliProcess(['receiver'], {
      ...common(metricsPort),
      FANIN_LOG_LEVEL: 'info',
      FANIN_RECEIVER_ID: id,
      FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
      FANIN_RECEIVER_RELP_PORT: String(relp),
      FANIN_RECEIVER_SYSLOG_PORT: '0',
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
      FANIN_RECEIVER_FORWARD_PORT: '0',
      FANIN_RECEIVER_HTTP_PORT: '0',
      ...env,
    });
    receivers.set(id, p);
    await ready(metricsPort);
    await p.waitForOutput(/relp input listening/);
    return p;
  };
  const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  before(async () => {
    const [input, relpA, relpB, metricsA, metricsB, workerPort, uploaderPort] = (await freePortsBelowEphemeral(7)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    ports = { input, relpA, relpB, metricsA, metricsB, worker: workerPort, uploader: uploaderPort };
    worker = new CliProcess(['worker'], common(ports.worker));
    uploader = new CliProcess(['uploader'], common(ports.uploader));
    await Promise.all([startReceiver('a'), startReceiver('b'), ready(ports.worker), ready(ports.uploader)]);
    // Memory first (room for a whole run), disk past it; retried for ever, every second: what a receiver has not
    // answered stays in rsyslog until some receiver does.
    const relpAction = (port: number, name: string) =>
      [
        `  action(type="omrelp" target="127.0.0.1" port="${port}" template="RSYSLOG_SyslogProtocol23Format" windowSize="${WINDOW}"`,
        `         queue.type="LinkedList" queue.size="50000" queue.filename="${name}" queue.spoolDirectory="${join(dir, 'work')}"`,
        '         queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="1")',
      ].join('\n');
    rsyslog = await Rsyslogd.start(
      dir,
      `module(load="omrelp")\n${rsyslogInput(
        ports.input,
        join(dir, 'work'),
        [relpAction(ports.relpA, 'relp_a'), relpAction(ports.relpB, 'relp_b')].join('\n'),
      )}`,
      ports.input,
    );
  });
  after(async () => {
    await Promise.all([rsyslog?.stop(), rsyslogTls?.stop()]);
    await Promise.all([...receivers.values(), worker, uploader].map((p) => p?.stop()));
    await cleanupNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  const sinkLines = (marker: string): SinkLine[] => {
    const lines: SinkLine[] = [];
    let files: string[];
    try {
      files = readdirSync(outDir)
        .filter((n) => n.startsWith('events.'))
        .sort();
    } catch {
      return lines;
    }
    for (const f of files) {
      for (const line of readFileSync(join(outDir, f), 'utf8').split('\n')) {
        if (!line.includes(marker)) continue;
        lines.push(JSON.parse(line) as SinkLine);
      }
    }
    return lines;
  };
  const settled = (marker: string, expected: number, timeoutMs: number): Promise<SinkLine[]> => {
    let last = -1;
    return waitFor(
      `${expected} lines with ${marker}`,
      async () => {
        const lines = sinkLines(marker);
        if (lines.length >= expected && lines.length === last) return lines;
        last = lines.length;
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      },
      timeoutMs,
      50,
    );
  };

  /** Sends `count` numbered lines to rsyslog at `perSecond`, calling `at(seq)` before each; resolves when sent. */
  const stream = async (
    runId: string,
    count: number,
    perSecond: number,
    at: (seq: number) => Promise<void> | void,
    port = ports.input,
  ) => {
    const sender = await openTcp(port);
    const started = Date.now();
    for (let seq = 0; seq < count; seq++) {
      await at(seq);
      if (!sender.write(`<134>fanin-relp: run=${runId} seq=${seq} via omrelp\n`))
        await new Promise((r) => sender.once('drain', r));
      if (seq % 50 === 49) {
        const wait = started + ((seq + 1) / perSecond) * 1000 - Date.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
    }
    await new Promise<void>((r) => sender.end(r));
  };

  const check = (lines: readonly SinkLine[], count: number) => {
    const perSeq = new Map<number, number>();
    for (const l of lines) {
      const seq = Number(/seq=(\d+) /.exec(l.message ?? '')?.[1]);
      perSeq.set(seq, (perSeq.get(seq) ?? 0) + 1);
    }
    const lost = Array.from({ length: count }, (_, i) => i).filter((i) => !perSeq.has(i));
    const duplicated = [...perSeq].filter(([, n]) => n > 1).map(([seq]) => seq);
    return { lost, duplicated };
  };

  const count = 20_000;
  const perSecond = 2500;

  it('SIGTERM: the stopped receiver answers what the broker confirmed and says serverclose; 0 lost, 0 duplicated', async () => {
    const runId = `term-${randomBytes(3).toString('hex')}`;
    const stopAt = 6000;
    const restart: { done?: Promise<CliProcess> } = {};
    let drainCode: number | null = null;
    let ackedBeforeStop = 0;
    await stream(runId, count, perSecond, async (seq) => {
      if (seq !== stopAt) return;
      ackedBeforeStop = metricValue(await metrics(ports.metricsA), 'fanin_receiver_relp_acks_total', {
        result: 'acked',
      });
      const victim = receivers.get('a')!;
      restart.done = victim.stop().then(({ code }) => {
        drainCode = code;
        return startReceiver('a');
      });
    });
    await restart.done;
    const lines = await settled(`run=${runId} `, count, 120_000);
    const { lost, duplicated } = check(lines, count);
    assert.deepEqual(lost, [], 'every line landed');
    assert.deepEqual(duplicated, [], 'no line landed twice');
    assert.equal(lines.length, count);
    assert.equal(drainCode, 0, 'the receiver drained cleanly');
    assert.ok(ackedBeforeStop > 0, 'receiver a had answered frames before it was stopped');
    // The new receiver a got the rest of a's copies: those rsyslog held while a was away, then the stream.
    // Every line has landed through b's copies, but a's last window may still await its confirm: read both counters
    // until they meet, for a bounded time (what is compared is that each frame taken was answered, not when).
    let viaNewA = 0;
    let ackedByNewA = -1;
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      const text = await metrics(ports.metricsA);
      viaNewA = metricValue(text, 'fanin_receiver_events_received_total', { transport: 'relp' });
      ackedByNewA = metricValue(text, 'fanin_receiver_relp_acks_total', { result: 'acked' });
      if (ackedByNewA === viaNewA) break;
    }
    assert.ok(
      viaNewA >= count - stopAt - perSecond,
      `rsyslog reconnected to the restarted receiver a: ${viaNewA} copies since the restart`,
    );
    assert.equal(ackedByNewA, viaNewA, 'every frame the new receiver a took was answered after its confirm');
    assert.ok(
      lines.every((l) => l.transport === 'relp' && l.source === '127.0.0.1'),
      'events carry transport relp and the peer address',
    );
  });

  it('SIGKILL: librelp resends the window it had no answer for; 0 lost', async () => {
    const runId = `kill-${randomBytes(3).toString('hex')}`;
    const killAt = 6000;
    const restart: { done?: Promise<CliProcess> } = {};
    await stream(runId, count, perSecond, (seq) => {
      if (seq !== killAt) return;
      const victim = receivers.get('b')!;
      victim.child.kill('SIGKILL');
      restart.done = victim.exited.then(() => startReceiver('b'));
    });
    await restart.done;
    const lines = await settled(`run=${runId} `, count, 120_000);
    const { lost, duplicated } = check(lines, count);
    assert.deepEqual(lost, [], 'every line landed');
    // A frame whose batch the broker confirmed just before the kill, but whose answer never left, is sent again to the
    // new b: the dedup counts it as b's second copy (occurrence 2). At most one omrelp window of frames can be such.
    assert.ok(
      duplicated.length <= WINDOW,
      `${duplicated.length} lines landed twice; at most one RELP window (${WINDOW}) may`,
    );
    console.log(`# SIGKILL run: ${lines.length} lines for ${count} events, ${duplicated.length} landed twice`);
    const viaNewB = metricValue(await metrics(ports.metricsB), 'fanin_receiver_events_received_total', {
      transport: 'relp',
    });
    assert.ok(
      viaNewB >= count - killAt - perSecond,
      `rsyslog reconnected to the restarted receiver b: ${viaNewB} copies since the restart`,
    );
  });

  // librelp with GnuTLS (its default) offers only anonymous cipher suites unless it has a certificate of its own
  // (tls.myCert): the receiver then finds no shared cipher. So the sender presents one, and the receiver requires it.
  it('over mutual TLS: omrelp tls="on" (GnuTLS, the server name checked, a client certificate) to receiver.relpTls', async () => {
    const certs = makeTestCertificates();
    const [input, relp, metricsPort] = (await freePortsBelowEphemeral(3)) as [number, number, number];
    await startReceiver('t', [relp, metricsPort], {
      FANIN_RECEIVER_RELP_TLS: 'true',
      FANIN_RECEIVER_TLS_CERT_FILE: certs.server.cert,
      FANIN_RECEIVER_TLS_KEY_FILE: certs.server.key,
      FANIN_RECEIVER_TLS_CA_FILE: certs.caFile,
      FANIN_RECEIVER_TLS_REQUIRE_CLIENT_CERT: 'true',
    });
    const tlsDir = join(dir, 'tls');
    rsyslogTls = await Rsyslogd.start(
      tlsDir,
      `module(load="omrelp")\n${rsyslogInput(
        input,
        join(tlsDir, 'work'),
        [
          `  action(type="omrelp" target="127.0.0.1" port="${relp}" template="RSYSLOG_SyslogProtocol23Format" tls="on"`,
          `         tls.caCert="${certs.caFile}" tls.myCert="${certs.client.cert}" tls.myPrivKey="${certs.client.key}"`,
          '         tls.authMode="name" tls.permittedPeer=["localhost"]',
          '         action.resumeRetryCount="-1" action.resumeInterval="1")',
        ].join('\n'),
      )}`,
      input,
    );
    const runId = `tls-${randomBytes(3).toString('hex')}`;
    await stream(runId, 1000, 2000, () => undefined, input);
    const lines = await settled(`run=${runId} `, 1000, 60_000);
    const { lost, duplicated } = check(lines, 1000);
    assert.deepEqual([lost, duplicated], [[], []], 'every line once');
    assert.ok(lines.every((l) => l.transport === 'relp' && l.receiver === 't'));
    assert.equal(metricValue(await metrics(metricsPort), 'fanin_receiver_relp_acks_total', { result: 'acked' }), 1000);
  });
});
