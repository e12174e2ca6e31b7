import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../../testkit/free-ports.js';
import { LocalFleetProcess, metricValue, type OutputLine } from '../../support/local-fleet-process.js';
import { Rsyslogd, rsyslogInput, rsyslogMissing } from '../../support/rsyslogd.js';
import { waitFor } from '../../../testkit/services.js';
import { openTcp, openTls } from '../../support/sockets.js';

/**
 * rsyslog as the device-side forwarder of the README: one message, two omfwd actions — TCP with octet counting to
 * receiver a, UDP to receiver b — each with a disk-assisted queue, against the real fleet (`fanin up`). Every event
 * must land once, also when receiver a is restarted mid-stream: while a is away rsyslog queues its copies and
 * resends them, b's UDP copy carries what a lost, and the dedup makes one event of the two.
 */
const missing = rsyslogMissing(false);

describe('rsyslog forwarding to the fleet (omfwd TCP octet-counted to a, UDP to b, disk-assisted queues)', () => {
  // CI installs rsyslog (.ci/run); without it this must fail, not pass silently.
  before(() => {
    if (missing) assert.fail(missing);
  });
  const fleet = new LocalFleetProcess();
  const dir = mkdtempSync(join(tmpdir(), 'fanin-rsyslog-fwd-'));
  let rsyslog: Rsyslogd | null = null;
  let inputPort = 0;

  before(async () => {
    await fleet.start();
    [inputPort] = (await freePorts(1)) as [number];
    // Disk-assisted (queue.filename), with room in memory for the few seconds receiver a is away: rsyslog resends the
    // message at the boundary where a queue first spills to disk (rsyslog PR #2767, "we prefer duplication over
    // loss"), which fanin would count as a real repeat. docs/syslog-limits.md says so; this test checks fanin's part.
    const queue = (name: string) =>
      `queue.type="LinkedList" queue.size="50000" queue.filename="${name}" queue.spoolDirectory="${join(dir, 'work')}"` +
      ' queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="1"';
    rsyslog = await Rsyslogd.start(
      dir,
      rsyslogInput(
        inputPort,
        join(dir, 'work'),
        [
          `  action(type="omfwd" target="127.0.0.1" port="${fleet.port(5514)}" protocol="tcp" TCP_Framing="octet-counted"`,
          `         template="RSYSLOG_SyslogProtocol23Format" ${queue('fanin_a')})`,
          `  action(type="omfwd" target="127.0.0.1" port="${fleet.port(5515)}" protocol="udp"`,
          `         template="RSYSLOG_SyslogProtocol23Format" ${queue('fanin_b')})`,
        ].join('\n'),
      ),
      inputPort,
    );
  });
  after(async () => {
    await rsyslog?.stop();
    await fleet.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const linesWith = (marker: string) => fleet.readOutput().filter((l) => l.message?.includes(marker) ?? false);
  const settled = (marker: string, expected: number, timeoutMs: number): Promise<OutputLine[]> => {
    let last = -1;
    return waitFor(
      `${expected} lines with ${marker}`,
      async () => {
        const lines = linesWith(marker);
        if (lines.length >= expected && lines.length === last) return lines;
        last = lines.length;
        await new Promise((r) => setTimeout(r, 500));
        return undefined;
      },
      timeoutMs,
      50,
    );
  };
  const receiverPid = (id: string) =>
    fleet.childPids('receiver').find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FANIN_RECEIVER_ID=${id}`);
      } catch {
        return false;
      }
    });

  it('lands every event once, also across a restart of receiver a mid-stream', async () => {
    const runId = `rsyslog-${randomBytes(3).toString('hex')}`;
    const count = 1500;
    const killAt = 400;
    const ratePerSecond = 250;
    const victim = receiverPid('a');
    assert.ok(victim, 'found receiver a');
    const sender = await openTcp(inputPort);
    const started = Date.now();
    for (let seq = 0; seq < count; seq++) {
      if (seq === killAt) process.kill(victim, 'SIGTERM');
      if (!sender.write(`<134>fanin-fwd: run=${runId} seq=${seq} rsyslog forwarded\n`))
        await new Promise((r) => sender.once('drain', r));
      const wait = started + ((seq + 1) / ratePerSecond) * 1000 - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    await new Promise<void>((r) => sender.end(r));

    const lines = await settled(`run=${runId} `, count, 90_000);
    const perSeq = new Map<number, number>();
    for (const l of lines) {
      const seq = Number(/seq=(\d+)/.exec(l.message ?? '')?.[1]);
      perSeq.set(seq, (perSeq.get(seq) ?? 0) + 1);
    }
    const missingSeqs = Array.from({ length: count }, (_, i) => i).filter((i) => !perSeq.has(i));
    const duplicated = [...perSeq].filter(([, n]) => n > 1).map(([seq]) => seq);
    assert.deepEqual(missingSeqs, [], 'every event landed');
    assert.deepEqual(
      duplicated,
      [],
      `no event landed twice: ${JSON.stringify(lines.filter((l) => duplicated.includes(Number(/seq=(\d+)/.exec(l.message ?? '')?.[1]))))}`,
    );
    assert.equal(lines.length, count);

    const restarted = receiverPid('a');
    assert.ok(restarted && restarted !== victim, 'the fleet restarted receiver a');
    // The restarted a starts counting from 0: what it has came after the restart, from rsyslog's queue and stream.
    const viaRestartedA = metricValue(await fleet.metrics(9601), 'fanin_receiver_events_received_total', {
      transport: 'tcp',
    });
    // Nearly all copies sent from the kill on reach the new a: those rsyslog queued while a was away, then the rest.
    assert.ok(
      viaRestartedA >= count - killAt - ratePerSecond,
      `rsyslog reconnected to the restarted receiver a and resent its queue: ${viaRestartedA} copies since the restart`,
    );
    assert.ok(lines.every((l) => l.app_name === 'fanin-fwd' && l.format === 'rfc5424' && l.source === '127.0.0.1'));
  });

  it('serves syslog over TLS out of the box: `fanin up` made a self-signed certificate and printed the TLS port', async () => {
    assert.match(fleet.stdout, new RegExp(`syslog tls 127\\.0\\.0\\.1:${fleet.port(6514)}`));
    const marker = `fleet-tls-${randomBytes(3).toString('hex')}`;
    for (const base of [6514, 6515]) {
      const s = await openTls({
        host: '127.0.0.1',
        port: fleet.port(base),
        servername: 'localhost',
        rejectUnauthorized: false,
      });
      await new Promise<void>((r) => s.end(`<13>1 2026-11-23T00:00:00Z host app - - - ${marker}\n`, r));
    }
    const lines = await settled(marker, 1, 20_000);
    assert.equal(lines.length, 1, 'the copies to a and b are one event');
    assert.equal(lines[0]!.transport, 'tls');
  });
});
