import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fleet } from '../../../chaos/fleet.js';
import { PrivateRabbitCluster } from '../../../chaos/rabbitmq-cluster.js';
import { cleanupNamespace, REDIS_URL, uniqueNamespace } from '../../../testkit/services.js';

const LINES = 3000;
const SEND_MS = 10_000;
const KILL_AFTER_MS = 3000;
const RESTART_AFTER_KILL_MS = 4000;

interface BrokerLogLine {
  readonly time: number;
  readonly msg: string;
  readonly url?: string;
}

/** The broker connection events a member logged (every incarnation appends to the same file). */
function brokerLog(logDir: string, member: string): BrokerLogLine[] {
  let text: string;
  try {
    text = readFileSync(join(logDir, `${member}.log`), 'utf8');
  } catch {
    return [];
  }
  const out: BrokerLogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"msg":"broker ')) continue;
    try {
      const entry = JSON.parse(line) as { time: string; msg: string; url?: string };
      out.push({ time: Date.parse(entry.time), msg: entry.msg, url: entry.url }); // the logger writes ISO 8601 times
    } catch {
      /* a torn last line */
    }
  }
  return out;
}

function portOf(url: string | undefined): number | null {
  try {
    return url ? Number(new URL(url).port) : null;
  } catch {
    return null;
  }
}

/** The node a member is connected to now: the port in its last "broker connected" line. */
function connectedPort(logDir: string, member: string): number | null {
  const connected = brokerLog(logDir, member).filter((l) => l.msg.startsWith('broker connected'));
  return portOf(connected.at(-1)?.url);
}

/** Each line is sent byte for byte to every receiver (RFC 6587 octet counting): a device fanning out. */
function frame(runId: string, seq: number): Buffer {
  const msg = `<14>1 2026-12-07T06:00:00.${String(seq % 1000).padStart(3, '0')}Z clusterhost app - - - amqp-cluster run=${runId} seq=${seq}`;
  return Buffer.from(`${Buffer.byteLength(msg)} ${msg}`);
}

function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Per sequence number: how many lines landed and with which ids. */
function readSink(dir: string, runId: string): Map<number, string[]> {
  const bySeq = new Map<number, string[]>();
  const marker = new RegExp(`run=${runId} seq=(\\d+)`);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^events\..+\.ndjson$/.test(f));
  } catch {
    return bySeq;
  }
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      let event: { id?: string; message?: string };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        continue;
      }
      const seq = marker.exec(event.message ?? '')?.[1];
      if (seq === undefined || !event.id) continue;
      const ids = bySeq.get(Number(seq)) ?? [];
      ids.push(event.id);
      bySeq.set(Number(seq), ids);
    }
  }
  return bySeq;
}

describe(
  'fanin on a private 3-node RabbitMQ cluster: SIGKILL of the node leading <ns>.new',
  { timeout: 175_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-amqp-cluster-'));
    chmodSync(dir, 0o755); // the nodes run as the rabbitmq user, which must reach their data directories
    const namespace = uniqueNamespace('amqpcl');
    const runId = Math.random().toString(16).slice(2, 10);
    const logDir = join(dir, 'logs');
    const sinkDir = join(dir, 'out');
    let cluster: PrivateRabbitCluster | null = null;
    let fleet: Fleet | null = null;
    const sockets: Socket[] = [];

    before(async () => {
      cluster = await PrivateRabbitCluster.create(join(dir, 'rabbit'), 3, 'fanin-t');
      await cluster.start(70_000);
      fleet = await Fleet.create(
        {
          namespace,
          redisUrl: REDIS_URL,
          amqpUrl: cluster.url,
          receiverAmqpUrl: () => cluster!.url,
          spoolDir: join(dir, 'spool'),
          sinkDir,
          secondaryDir: join(dir, 'secondary'),
          logDir,
          receivers: ['r1', 'r2'],
          workers: 2,
          env: { FANIN_LOG_LEVEL: 'info', FANIN_SINKS: 'file' },
        },
        300,
      );
      await fleet.start(40_000);
    });

    after(async () => {
      for (const s of sockets) s.destroy();
      await fleet?.stop(10_000);
      await cluster?.destroy();
      await cleanupNamespace(namespace).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it('loses nothing, adds no new-id copy, and every process that was on the killed node reconnects to a survivor', async () => {
      const f = fleet!;
      const c = cluster!;
      const newQueue = `${namespace}.new`;
      const leader = await c.leaderOf(newQueue);
      assert.ok(leader, `no leader found for ${newQueue}`);
      assert.equal(
        (await c.membersOf(newQueue)).length,
        3,
        `${newQueue} has 3 members (x-quorum-initial-group-size 3)`,
      );

      // The order is shuffled per process: restart members until at least one is connected to the leader, so the
      // kill below also tests client failover (bounded: each restart lands there with probability 1/3).
      const members = f.names();
      for (let round = 0; round < 12 && !members.some((m) => connectedPort(logDir, m) === leader.port); round++) {
        await f.killAndAwaitRestart(members[round % members.length]!, true, 30_000);
      }
      const onLeader = members.filter((m) => connectedPort(logDir, m) === leader.port);
      assert.ok(onLeader.length > 0, 'no fanin process connected to the leader of <ns>.new after 12 restarts');

      // The sink's growth over time: the longest stretch without a new line after the kill is the pipeline's stall
      // (connection failover, leader election of the quorum queues, redelivery), end to end.
      const growth: { at: number; count: number }[] = [];
      const watcher = setInterval(() => growth.push({ at: Date.now(), count: readSink(sinkDir, runId).size }), 250);
      const receivers = f.receiverPorts;
      for (const r of receivers) sockets.push(await openTcp(r.syslog));
      const sendStart = Date.now();
      let killedAt = 0;
      let restart: Promise<void> | null = null;
      let sent = 0;
      while (sent < LINES) {
        const due = Math.min(LINES, Math.ceil(((Date.now() - sendStart) / SEND_MS) * LINES));
        for (; sent < due; sent++) {
          const bytes = frame(runId, sent);
          for (const s of sockets) s.write(bytes);
        }
        if (!killedAt && Date.now() - sendStart >= KILL_AFTER_MS) {
          await leader.kill();
          killedAt = Date.now();
          restart = sleep(RESTART_AFTER_KILL_MS).then(() => leader.start(60_000));
        }
        await sleep(20);
      }
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.end(resolve))));
      await restart;
      await c.waitRunning(3, 60_000);
      const newLeader = await c.leaderOf(newQueue);

      let landed = readSink(sinkDir, runId);
      const deadline = Date.now() + 60_000;
      while (landed.size < LINES && Date.now() < deadline) {
        await sleep(500);
        landed = readSink(sinkDir, runId);
      }
      await sleep(2000); // late copies (a redelivery after the last line) must be counted too
      clearInterval(watcher);
      landed = readSink(sinkDir, runId);
      let stallMs = 0;
      for (let i = 1, since = 0; i < growth.length; i++) {
        if (growth[i]!.count > growth[i - 1]!.count) since = i;
        else if (growth[i]!.at > killedAt && growth[i]!.count < LINES)
          stallMs = Math.max(stallMs, growth[i]!.at - Math.max(growth[since]!.at, killedAt));
      }

      const lost = Array.from({ length: LINES }, (_, i) => i).filter((seq) => !landed.has(seq));
      let sameIdDuplicates = 0;
      const newIdCopies: number[] = [];
      for (const [seq, ids] of landed) {
        const distinct = new Set(ids);
        sameIdDuplicates += ids.length - distinct.size;
        if (distinct.size > 1) newIdCopies.push(seq);
      }

      const failovers: { member: string; lostAt: number; ms: number; to: number | null }[] = [];
      for (const m of members) {
        const log = brokerLog(logDir, m);
        const loss = log.find((l) => l.time >= killedAt && l.msg.startsWith('broker connection lost'));
        if (!loss) continue;
        const back = log.find((l) => l.time > loss.time && l.msg.startsWith('broker connected'));
        failovers.push({
          member: m,
          lostAt: loss.time - killedAt,
          ms: back ? back.time - loss.time : -1,
          to: portOf(back?.url),
        });
      }
      const leaked = members.filter((m) => {
        try {
          return readFileSync(join(logDir, `${m}.log`), 'utf8').includes('guest:guest@');
        } catch {
          return false;
        }
      });

      const report = {
        killedNode: leader.nodeName,
        newLeader: newLeader?.nodeName ?? null,
        onKilledNode: onLeader,
        failovers,
        sinkStallAfterKillMs: stallMs,
        lost: lost.length,
        lostSample: lost.slice(0, 10),
        sameIdDuplicates,
        newIdCopies: newIdCopies.length,
        landedDistinct: landed.size,
        sent: LINES,
      };
      process.stdout.write(`# amqp cluster failover: ${JSON.stringify(report)}\n`);

      assert.equal(lost.length, 0, `lost ${lost.length} lines, e.g. ${lost.slice(0, 10).join(',')}`);
      assert.equal(newIdCopies.length, 0, `lines landed under two ids: ${newIdCopies.slice(0, 10).join(',')}`);
      assert.ok(newLeader && newLeader !== leader, `a surviving node leads ${newQueue} after the kill`);
      for (const m of onLeader) {
        const fo = failovers.find((x) => x.member === m);
        assert.ok(fo, `${m} was on the killed node and logged no connection loss`);
        assert.ok(fo.ms >= 0, `${m} never reconnected`);
        assert.ok(
          fo.to !== null && fo.to !== leader.port,
          `${m} reconnected to port ${fo.to}, not to a surviving node`,
        );
      }
      assert.deepEqual(leaked, [], 'a log line shows a password');
    });
  },
);
