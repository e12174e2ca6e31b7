import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroup2Mount } from '../../../chaos/process-cgroup.js';
import { DEFAULT_RESULTS_FILE } from '../../../chaos/run-chaos.js';

const ENTRY = fileURLToPath(new URL('../../../chaos/run-chaos.js', import.meta.url));
/** The short cluster profile takes about four minutes with the clusters' start on a quiet machine; twice that under load. */
const LIMIT_MS = 8 * 60_000;

interface Row {
  label: string;
  kind: string;
  sent: number;
  delivered: number;
  lost: number;
  lostExplained: number;
  duplicatedRaw: number;
  duplicatedNewIds: number;
  repeatsCollapsed: number;
  httpLost: number;
  httpAcked: number;
  recoveryS: number | null;
}
interface Leg {
  leg: string;
  ok: boolean;
  faults: { name: string; kind: string; error?: string; stuck?: string[] }[];
  check: { failures: number; rows: Row[]; total: Row };
  postgres: { rows: number; missing: number; extra: number };
  beforeFaults: { lines: number; sameIdDuplicates: number };
}
interface Results {
  ok: boolean;
  legs: Leg[];
}

function missingPrerequisite(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (RabbitMQ nodes run as the rabbitmq user, iptables, cgroups)';
  for (const tool of ['rabbitmq-server', 'rabbitmqctl', 'rabbitmq-queues', 'redis-server', 'redis-cli', 'iptables']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `needs ${tool}`;
    }
  }
  if (!cgroup2Mount()) return 'needs cgroup v2 mounted (a cut RabbitMQ node runs in a cgroup of its own)';
  return false;
}

/**
 * The real fleet (2 receivers, 2 workers, the uploader with the file and PostgreSQL sinks) on a private 3-node
 * RabbitMQ cluster, first with a Redis Cluster, then with a Sentinel group, while the cluster profile's faults hit
 * them: the RabbitMQ node leading <ns>.new SIGKILLed, then cut off by iptables, a rolling restart, a Redis Cluster
 * master and the Sentinel master SIGKILLed. Run as a child process: it must clean up (iptables rules, servers) even
 * if this test is interrupted.
 */
describe('chaos suite (cluster-short profile)', () => {
  before(() => {
    const missing = missingPrerequisite();
    if (missing) assert.fail(`cluster chaos suite ${missing}`);
  });
  const dir = mkdtempSync(join(tmpdir(), 'fanin-chaos-cluster-test-'));
  const resultsFile = join(dir, 'latest.json');
  let child: ChildProcess | null = null;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'loses no event through node loss, a partition and a rolling restart; every fanned-out event lands once in the file sink and PostgreSQL',
    { timeout: LIMIT_MS + 30_000 },
    async (t) => {
      assert.notEqual(resultsFile, DEFAULT_RESULTS_FILE);
      let output = '';
      const code = await new Promise<number | null>((resolve) => {
        child = spawn(process.execPath, [ENTRY], {
          env: { ...process.env, CHAOS_PROFILE: 'cluster-short', CHAOS_RESULTS_FILE: resultsFile },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout!.on('data', (d: Buffer) => {
          output += d.toString();
        });
        child.stderr!.on('data', (d: Buffer) => {
          output += d.toString();
        });
        const timer = setTimeout(() => child!.kill('SIGINT'), LIMIT_MS);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 0, `cluster chaos suite failed (exit ${code}):\n${output.slice(-8000)}`);
      assert.doesNotMatch(
        execFileSync('iptables', ['-S'], { encoding: 'utf8' }),
        /fanin-chaos-cut-/,
        'every cut rule removed',
      );
      const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
      assert.ok(results.ok);
      assert.equal(results.legs.length, 2, 'a leg on the Redis Cluster and one on the Sentinel group');
      const kinds = new Set(results.legs.flatMap((l) => l.faults.map((f) => f.kind)));
      for (const kind of [
        'rabbitmq-kill-leader',
        'rabbitmq-partition',
        'rabbitmq-rolling-restart',
        'redis-cluster-kill-master',
        'redis-sentinel-kill-master',
      ]) {
        assert.ok(kinds.has(kind), `fault ${kind} injected`);
      }
      for (const leg of results.legs) {
        for (const r of leg.check.rows)
          t.diagnostic(
            `${leg.leg} | ${r.label}: sent ${r.sent}, lost ${r.lost}, dup same id ${r.duplicatedRaw}, dup new id ${r.duplicatedNewIds}, http ${r.httpLost}/${r.httpAcked}, recovery ${r.recoveryS ?? '-'} s`,
          );
        assert.deepEqual(
          leg.faults.filter((f) => f.error ?? f.stuck),
          [],
          `${leg.leg}: every fault injected and healed, every member recovered by itself`,
        );
        const total = leg.check.total;
        assert.equal(total.lost - total.lostExplained, 0, `${leg.leg}: lost events`);
        assert.equal(total.httpLost, 0, `${leg.leg}: acknowledged HTTP events lost`);
        assert.equal(leg.check.failures, 0);
        assert.ok(
          total.sent > 3000 && total.delivered >= total.sent - total.lostExplained,
          `${leg.leg}: sent ${total.sent}, delivered ${total.delivered}`,
        );
        // Before any fault the pipeline is exactly-once end to end: no line twice in the file sink.
        assert.ok(leg.beforeFaults.lines > 500, `${leg.leg}: ${leg.beforeFaults.lines} lines before the first fault`);
        assert.equal(leg.beforeFaults.sameIdDuplicates, 0, `${leg.leg}: lines written twice before any fault`);
        assert.equal(leg.check.rows[0]!.lost, 0, `${leg.leg}: baseline lost`);
        assert.equal(leg.postgres.missing + leg.postgres.extra, 0, `${leg.leg}: PostgreSQL rows missing or extra`);
        assert.ok(
          leg.postgres.rows >= total.delivered - total.repeatsCollapsed,
          `${leg.leg}: ${leg.postgres.rows} PostgreSQL rows`,
        );
        // With WAIT 1 a failover cannot forget a decision a worker acted on: no copy under a new id.
        for (const r of leg.check.rows.filter((x) => /WAIT 1/.test(x.label))) {
          assert.equal(r.duplicatedNewIds, 0, `${leg.leg} ${r.label}: copies under a new id`);
          assert.equal(r.repeatsCollapsed, 0, `${leg.leg} ${r.label}: repeats counted again as first occurrences`);
        }
      }
    },
  );
});
