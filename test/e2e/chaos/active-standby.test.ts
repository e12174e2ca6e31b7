import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RESULTS_FILE, missingPrerequisite } from '../../../chaos/active-standby/run.js';
import type { RoundResult } from '../../../chaos/active-standby/rounds.js';

const ENTRY = fileURLToPath(new URL('../../../chaos/active-standby/run.js', import.meta.url));
/** About 15 s to build the lab and elect a master, 15 s per round. */
const LIMIT_MS = 120_000;

interface Results {
  ok: boolean;
  failure: string | null;
  rounds: RoundResult[];
}

/**
 * One short round of each design, run as a child process (it builds network namespaces and must tear them down even
 * if this test is interrupted): a receiver behind the VIP is SIGKILLed and the VIP moves; with fan-out nothing is lost.
 */
describe('active/standby against active/active (network namespaces, keepalived)', () => {
  // CI runs as root with keepalived installed: a missing prerequisite fails here rather than passing silently.
  before(() => {
    const missing = missingPrerequisite();
    if (missing) assert.fail(`the active/standby bench ${missing}`);
  });
  const dir = mkdtempSync(join(tmpdir(), 'fanin-vip-test-'));
  const resultsFile = join(dir, 'active-standby.json');
  let child: ChildProcess | null = null;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "moves the VIP when the master's receiver dies, and fan-out loses nothing",
    { timeout: LIMIT_MS + 30_000 },
    async () => {
      assert.notEqual(resultsFile, DEFAULT_RESULTS_FILE);
      let output = '';
      const code = await new Promise<number | null>((resolve) => {
        child = spawn(process.execPath, [ENTRY], {
          env: {
            ...process.env,
            VIP_ROUNDS: '1',
            VIP_RATE: '1000',
            VIP_BEFORE_KILL_MS: '3000',
            VIP_DOWN_MS: '2000',
            VIP_AFTER_RESTART_MS: '2000',
            VIP_RESULTS_FILE: resultsFile,
          },
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
      assert.equal(code, 0, `bench failed (exit ${code}):\n${output.slice(-6000)}`);
      const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
      assert.ok(results.ok);
      const standby = results.rounds.find((r) => r.design === 'active-standby');
      const active = results.rounds.find((r) => r.design === 'active-active');
      assert.ok(standby && active, 'one round of each design');

      assert.ok(
        standby.vipAddedMs !== null && standby.vipAddedMs < 10_000,
        `the VIP moved to the survivor (${standby.vipAddedMs} ms)`,
      );
      assert.ok(standby.tcp.sent > 3000 && standby.udp.sent > 3000, 'streams ran');
      assert.ok(
        (standby.tcp.byReceiver[standby.survivor] ?? 0) > 0 && (standby.udp.byReceiver[standby.survivor] ?? 0) > 0,
        'the standby took over both protocols',
      );
      // The datagrams sent while the VIP was moving have nowhere to go: the cost of the design.
      assert.ok(standby.udp.lost > 0, 'UDP lines lost during the failover');

      for (const p of [active.tcp, active.udp]) {
        assert.ok(p.sent > 3000, `${p.protocol} stream ran`);
        assert.equal(p.lost, 0, `${p.protocol} lines lost with fan-out`);
        assert.equal(p.duplicates, 0, `${p.protocol} lines written twice with fan-out`);
      }
    },
  );
});
