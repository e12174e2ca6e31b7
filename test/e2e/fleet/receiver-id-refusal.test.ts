import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel } from 'amqplib';
import { LEASE_LINGER_MS, leaseQueueName } from '../../../receiver/receiver-id-lease.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { openTcp } from '../../support/sockets.js';

const CLI = fileURLToPath(new URL('../../../cli/fanin.js', import.meta.url));
const EX_CONFIG = 78;

/** One `fanin receiver` process as an operator starts it; its output is kept to be matched. */
class ReceiverProcess {
  out = '';
  readonly exited: Promise<number | null>;
  readonly spawnedAt = Date.now();

  private constructor(
    readonly child: ChildProcess,
    readonly syslogPort: number,
    readonly metricsPort: number,
  ) {
    child.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async spawn(namespace: string, receiverId: string, spoolDir: string): Promise<ReceiverProcess> {
    const [syslog, metrics] = (await freePorts(2)) as [number, number];
    const child = spawn(process.execPath, [CLI, 'receiver'], {
      env: {
        ...process.env,
        FANIN_NAMESPACE: namespace,
        FANIN_AMQP_URL: AMQP_URL,
        FANIN_LOG_LEVEL: 'info',
        FANIN_RECEIVER_ID: receiverId,
        FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
        FANIN_RECEIVER_SYSLOG_PORT: String(syslog),
        FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
        FANIN_RECEIVER_HTTP_PORT: '0',
        FANIN_RECEIVER_FORWARD_PORT: '0',
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: String(metrics),
        FANIN_RECEIVER_SPOOL_DIR: spoolDir,
        FANIN_RECEIVER_BATCH_MAX_DELAY_MS: '5',
        FANIN_DRAIN_TIMEOUT_MS: '4000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ReceiverProcess(child, syslog, metrics);
  }

  /** Milliseconds from spawn until the receiver listens. */
  async listening(timeoutMs = 15_000): Promise<number> {
    await waitFor('receiver listening', () => (/receiver listening/.test(this.out) ? true : undefined), timeoutMs, 20);
    return Date.now() - this.spawnedAt;
  }

  /** Exit code and milliseconds from spawn until exit, bounded (SIGKILL after `timeoutMs`). */
  async exit(timeoutMs: number): Promise<{ code: number | null; ms: number }> {
    const kill = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(kill);
    return { code, ms: Date.now() - this.spawnedAt };
  }

  /** How long the start waited for the id lease, as the receiver logs it. */
  leaseWaitMs(): number {
    const line = this.out.split('\n').find((l) => l.includes('"receiver id lease held"'));
    assert.ok(line, 'the receiver logged taking its lease');
    return (JSON.parse(line) as { waitedMs: number }).waitedMs;
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    assert.ok(line, `${name} is exported`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
}

/** What the measured times were, for the report: printed, never asserted beyond their bounds. */
function note(what: string, ms: number): void {
  process.stdout.write(`# ${what}: ${ms} ms\n`);
}

/**
 * Two receivers with one receiver id would make every copy of an event count twice: the second `fanin receiver` with
 * an id that a live receiver holds must refuse to start, naming the id, while the first goes on; the id is free
 * again as soon as its holder exits, even by SIGKILL.
 */
describe('a receiver id may not be used twice', () => {
  const namespace = uniqueNamespace('rid');
  const spoolDir = mkdtempSync(join(tmpdir(), 'fanin-rid-spool-'));
  const running: ReceiverProcess[] = [];
  let conn: ChannelModel;

  const start = async (receiverId: string) => {
    const r = await ReceiverProcess.spawn(namespace, receiverId, spoolDir);
    running.push(r);
    return r;
  };

  before(async () => {
    conn = await connect(AMQP_URL);
  });
  after(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await conn.close().catch(() => undefined);
    await cleanupNamespace(namespace);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  /** Whether some connection holds the id's lease: a passive declare of another connection's exclusive queue fails with 405. */
  const leaseHolderExists = async (receiverId: string): Promise<boolean> => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.checkQueue(leaseQueueName(namespace, receiverId));
      await ch.close();
      return false; // declared by this very connection: not the case here
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 405) return true;
      if (code === 404) return false;
      throw err;
    }
  };

  let first: ReceiverProcess;

  it('a second receiver with the same id exits 78 at once, naming the id, the namespace and the holder; the first keeps working', async () => {
    first = await start('dup');
    note('first receiver listening after spawn', await first.listening());
    note('first receiver: lease taken after', first.leaseWaitMs());
    assert.equal(await leaseHolderExists('dup'), true, 'the first receiver holds the lease');

    const second = await start('dup');
    const { code, ms } = await second.exit(30_000);
    note('second receiver refused (spawn to exit, Node start included)', ms);
    assert.equal(code, EX_CONFIG, second.out);
    assert.match(second.out, new RegExp(`receiver\\.id "dup" is already in use in namespace "${namespace}"`));
    assert.match(
      second.out,
      new RegExp(`the receiver on host ${hostname()} \\(pid ${first.child.pid}`),
      'names the live holder',
    );
    assert.match(second.out, /FANIN_RECEIVER_ID/);
    assert.doesNotMatch(second.out, /receiver listening/, 'it never opened its inputs');
    assert.ok(ms < LEASE_LINGER_MS, 'a live holder answers: no waiting for a lingering connection');

    const socket = await openTcp(first.syslogPort);
    socket.end('<13>1 2026-12-07T00:00:00Z h app - - - still working\n');
    await waitFor(
      'the first receiver published the line',
      async () => ((await first.metric('fanin_receiver_events_published_total')) >= 1 ? true : undefined),
      10_000,
    );
    assert.equal(await first.metric('fanin_receiver_id_conflict'), 0);
    assert.equal(first.child.exitCode, null, 'the first receiver runs on');
  });

  it('once the holder stops (SIGTERM) a new receiver with that id starts', async () => {
    first.child.kill('SIGTERM');
    assert.equal((await first.exit(15_000)).code, 0);
    const next = await start('dup');
    note('receiver after a SIGTERMed one, spawn to listening', await next.listening());
    note('receiver after a SIGTERMed one: lease taken after', next.leaseWaitMs());
    assert.doesNotMatch(next.out, /waiting/, 'the lease was free at once');
    first = next;
  });

  it('a receiver SIGKILLed and restarted at once gets its id back without waiting', async () => {
    first.child.kill('SIGKILL');
    await first.exited;
    const restarted = await start('dup');
    const ms = await restarted.listening();
    note('receiver restarted right after SIGKILL, spawn to listening', ms);
    const leaseMs = restarted.leaseWaitMs();
    note('receiver restarted right after SIGKILL: lease taken after', leaseMs);
    assert.doesNotMatch(
      restarted.out,
      /waiting for the broker to drop it/,
      'the broker saw the socket close and dropped the lease',
    );
    assert.ok(leaseMs < 2000, `lease after ${leaseMs} ms`);
    restarted.child.kill('SIGTERM');
    assert.equal((await restarted.exit(15_000)).code, 0);
  });

  it('waits for a lease held by a connection that does not answer (a dead holder the broker has not dropped yet), then starts', async () => {
    const lingering = await connect(AMQP_URL);
    await (
      await lingering.createChannel()
    ).assertQueue(leaseQueueName(namespace, 'stale'), { exclusive: true, durable: false });
    const r = await start('stale');
    await waitFor(
      'the receiver waits',
      () => (/waiting for the broker to drop it/.test(r.out) ? true : undefined),
      10_000,
      20,
    );
    const heldFor = 3000;
    await new Promise((res) => setTimeout(res, heldFor));
    assert.doesNotMatch(r.out, /receiver listening/);
    const releasedAt = Date.now();
    await lingering.close();
    await r.listening();
    note('start after the lingering lease went', Date.now() - releasedAt);
    note('lease wait logged by the receiver', r.leaseWaitMs());
    assert.ok(Date.now() - releasedAt < 3000, 'takes the lease within a few retries');
    r.child.kill('SIGTERM');
    assert.equal((await r.exit(15_000)).code, 0);
  });

  it('refuses after LEASE_LINGER_MS when the silent holder never goes', async () => {
    const holder = await connect(AMQP_URL);
    try {
      await (
        await holder.createChannel()
      ).assertQueue(leaseQueueName(namespace, 'held'), { exclusive: true, durable: false });
      const r = await start('held');
      const { code, ms } = await r.exit(LEASE_LINGER_MS + 15_000);
      note('refusal with a silent holder, spawn to exit', ms);
      assert.equal(code, EX_CONFIG, r.out);
      assert.match(r.out, /receiver\.id "held" is already in use/);
      assert.match(r.out, /stayed held for \d+ s by a connection that does not answer/);
      assert.ok(ms >= LEASE_LINGER_MS, `waited ${ms} ms`);
    } finally {
      await holder.close();
    }
  });
});
