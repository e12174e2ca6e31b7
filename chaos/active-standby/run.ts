/**
 * Active/standby (two receivers behind a keepalived VIP) measured against active/active (the sender fans out to
 * both): what a SIGKILLed receiver costs in each design. Builds two hosts in network namespaces, each with a fanin
 * receiver and keepalived; streams numbered TCP and UDP syslog; kills a receiver mid-stream; counts the lines
 * missing from the file sink and the duplicates. See docs/active-standby.md.
 *
 * Environment: VIP_ROUNDS (rounds of each design, default 3), VIP_RATE (lines/s per protocol, default 2000),
 * VIP_BEFORE_KILL_MS (8000), VIP_DOWN_MS (5000), VIP_AFTER_RESTART_MS (3000), VIP_ADVERT_INT (VRRP advert interval,
 * seconds, default 1), VIP_CHECK_INTERVAL (track script interval, seconds, default 1), VIP_TRACK (script, or
 * script+file: also a state file written when the receiver starts and exits, watched by keepalived), VIP_RESULTS_FILE (default
 * chaos/results/active-standby.json), VIP_KEEP=1 keeps the work dir (logs, keepalived configs, sink files).
 * Exit status: 0 measured, and active/active lost nothing and the VIP moved every time; 1 otherwise; 2 the bench
 * itself failed. Needs root, iproute2, keepalived and curl, and RabbitMQ and Redis on localhost.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Teardown } from '../suite.js';
import { note } from '../util.js';
import { setUpBench, type VrrpSettings } from './bench-setup.js';
import { formatComparison, summarize } from './summary.js';
import { runRound, type RoundResult, type RoundTiming } from './rounds.js';

export const DEFAULT_RESULTS_FILE = fileURLToPath(
  new URL('../../../chaos/results/active-standby.json', import.meta.url),
);

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: a positive number, not ${JSON.stringify(raw)}`);
  return n;
}

/** The tools the bench runs; a missing one is named before anything is built. */
export function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, keepalived)';
  for (const tool of ['ip', 'keepalived', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `needs ${tool}`;
    }
  }
  return null;
}

export async function main(): Promise<number> {
  const missing = missingPrerequisite();
  if (missing) {
    process.stderr.write(`active/standby bench ${missing}\n`);
    return 2;
  }
  const rounds = numberFromEnv('VIP_ROUNDS', 3);
  const timing: RoundTiming = {
    rate: numberFromEnv('VIP_RATE', 2000),
    beforeKillMs: numberFromEnv('VIP_BEFORE_KILL_MS', 8000),
    downMs: numberFromEnv('VIP_DOWN_MS', 5000),
    afterRestartMs: numberFromEnv('VIP_AFTER_RESTART_MS', 3000),
  };
  const track = process.env.VIP_TRACK ?? 'script';
  if (track !== 'script' && track !== 'script+file') {
    process.stderr.write('VIP_TRACK: script or script+file\n');
    return 2;
  }
  const vrrp: VrrpSettings = {
    advertIntervalS: numberFromEnv('VIP_ADVERT_INT', 1),
    checkIntervalS: numberFromEnv('VIP_CHECK_INTERVAL', 1),
    trackStateFile: track === 'script+file',
  };
  const resultsFile = resolve(process.env.VIP_RESULTS_FILE ?? DEFAULT_RESULTS_FILE);
  const workDir = mkdtempSync(`${tmpdir()}/fanin-vip-`);
  const teardown = new Teardown();
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    note(`${signal}: tearing the lab down`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: RoundResult[] = [];
  const startedAt = new Date().toISOString();
  let failure: string | null = null;
  try {
    const bench = await setUpBench(workDir, vrrp, teardown);
    for (let i = 0; i < rounds; i++) results.push(await runRound(bench, 'active-standby', i, timing));
    for (let i = 0; i < rounds; i++) results.push(await runRound(bench, 'active-active', i, timing));
  } catch (err) {
    failure = (err as Error).stack ?? String(err);
    note(`bench failed: ${failure}`);
  }
  await teardown.run();

  const summary = summarize(results);
  process.stdout.write(`\n${formatComparison(summary, results)}\n`);
  const activeActiveLost = results
    .filter((r) => r.design === 'active-active')
    .reduce((n, r) => n + r.tcp.lost + r.udp.lost, 0);
  const vipStuck = results.filter((r) => r.design === 'active-standby' && r.vipAddedMs === null).length;
  const ok = failure === null && activeActiveLost === 0 && vipStuck === 0 && results.every((r) => r.settled);
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(
    resultsFile,
    JSON.stringify(
      {
        startedAt,
        ok,
        failure,
        rate: timing.rate,
        timing,
        vrrp,
        machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
        summary,
        rounds: results,
      },
      null,
      2,
    ) + '\n',
  );
  note(`results written to ${resultsFile}`);
  if (process.env.VIP_KEEP === '1' || !ok) note(`work dir kept: ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  if (failure !== null) return 2;
  return ok ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(2);
    },
  );
}
