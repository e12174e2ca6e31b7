/**
 * `npm run chaos`: the chaos suite (issue 5). Starts a private RabbitMQ and Redis, a fleet of 3 receivers, 2 dedup
 * workers and an uploader, streams fan-out events, injects the profile's faults, and checks that nothing was lost.
 * CHAOS_PROFILE=cluster|cluster-short runs the fleet on a private 3-node RabbitMQ cluster with a Redis Cluster, then
 * a Sentinel group (cluster-suite.ts), its private servers on the 50 ports from CHAOS_PORT_BASE (default 31000).
 *
 * Environment: CHAOS_PROFILE=long|short|cluster|cluster-short (default long), CHAOS_ONLY=kind,… (only the profile's faults of these kinds,
 * e.g. kill-receiver,redis-wipe), CHAOS_NEW_QUEUE_SHARDS (cluster profiles: FANIN_NEW_QUEUE_SHARDS of the fleet), CHAOS_RATE (events/s), CHAOS_RESULTS_FILE (default
 * chaos/results/latest.json), CHAOS_WORK_DIR (default a new /tmp/fanin-chaos-*), CHAOS_KEEP=1 keeps the work dir
 * (logs, sink files) even when the run passes. Exit status: 0 nothing lost; 1 an event lost (or a repeat collapsed without
 * a Redis wipe to explain it) or a member that did not recover by itself; 2 the suite itself failed.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterProfiles } from './cluster-profiles.js';
import { runClusterSuite } from './cluster-suite.js';
import { onlyKinds, profiles } from './profiles.js';
import { formatMarkdown, formatTable } from './report.js';
import { removeWorkDir, runSuite, Teardown, type SuiteResult } from './suite.js';
import { note } from './util.js';

export const DEFAULT_RESULTS_FILE = fileURLToPath(new URL('../../chaos/results/latest.json', import.meta.url));

export async function main(): Promise<number> {
  const profileName = process.env.CHAOS_PROFILE ?? 'long';
  let profile = profiles[profileName];
  const clusterProfile = clusterProfiles[profileName];
  if (!profile && !clusterProfile) {
    process.stderr.write(
      `CHAOS_PROFILE: one of ${[...Object.keys(profiles), ...Object.keys(clusterProfiles)].join(', ')}\n`,
    );
    return 2;
  }
  if (profile && process.env.CHAOS_ONLY)
    profile = onlyKinds(
      profile,
      process.env.CHAOS_ONLY.split(',').map((k) => k.trim()),
    );
  const rate = process.env.CHAOS_RATE ? Number(process.env.CHAOS_RATE) : undefined;
  const portBase = Number(process.env.CHAOS_PORT_BASE ?? 31_000);
  const resultsFile = resolve(process.env.CHAOS_RESULTS_FILE ?? DEFAULT_RESULTS_FILE);
  const workDir = process.env.CHAOS_WORK_DIR ?? mkdtempSync(`${tmpdir()}/fanin-chaos-`);
  chmodSync(workDir, 0o755); // the private RabbitMQ runs as the rabbitmq user and must reach its directory
  const teardown = new Teardown();
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    note(`${signal}: stopping the fleet, RabbitMQ and Redis`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let results: SuiteResult[];
  try {
    results = profile
      ? [await runSuite(profile, { workDir, rate }, teardown)]
      : await runClusterSuite(
          clusterProfile!,
          { workDir, rate, portBase, newQueueShards: Number(process.env.CHAOS_NEW_QUEUE_SHARDS ?? 1) },
          teardown,
        );
  } catch (err) {
    note(`suite failed: ${(err as Error).stack ?? String(err)}`);
    await teardown.run();
    note(`work dir kept: ${workDir}`);
    return 2;
  }
  await teardown.run();

  const verdicts = results.map(report);
  const ok = verdicts.every((v) => v.ok);
  const legs = results.map((r, i) => ({ ...r, ok: verdicts[i]!.ok, markdown: formatMarkdown(r.check) }));
  mkdirSync(dirname(resultsFile), { recursive: true });
  // One fleet: the result itself (as before the cluster profile); several: one entry per leg.
  writeFileSync(
    resultsFile,
    JSON.stringify(legs.length === 1 ? legs[0] : { profile: profileName, ok, legs }, null, 2) + '\n',
  );
  note(`results written to ${resultsFile}`);
  if (ok && process.env.CHAOS_KEEP !== '1' && !process.env.CHAOS_WORK_DIR) await removeWorkDir(workDir);
  else note(`work dir kept: ${workDir} (logs in ${results.map((r) => r.logDir).join(', ')})`);
  if (verdicts.some((v) => v.failures > 0 || v.stuck > 0)) return 1;
  return verdicts.some((v) => v.suiteErrors > 0) ? 2 : 0;
}

/** Prints one fleet's table and findings; its verdict. */
function report(result: SuiteResult): { ok: boolean; failures: number; stuck: number; suiteErrors: number } {
  const c = result.check;
  const suiteErrors = result.faults.filter((f) => f.error).length;
  const stuck = result.faults.filter((f) => f.stuck?.length).length;
  const ok = c.failures === 0 && stuck === 0 && suiteErrors === 0;
  if (result.leg) process.stdout.write(`\n== ${result.leg} (namespace ${result.namespace}) ==\n`);
  process.stdout.write(`\n${formatTable(c)}\n\n`);
  for (const f of result.faults) if (f.detail) process.stdout.write(`${f.name}: ${f.detail}\n`);
  process.stdout.write(
    `sink: ${result.sink.lines} lines (${result.sink.secondaryLines} from the secondary), ${result.sink.unparseable} unparseable (${result.sink.torn} torn), ${result.sink.rejected} rejected; queues at end ${JSON.stringify(result.queuesAtEnd)}\n`,
  );
  for (const [name, m] of Object.entries(result.metrics).filter(([n]) => n.startsWith('receiver-'))) {
    const spooled = m.fanin_receiver_spooled_batches_total ?? 0;
    const replayed = m.fanin_receiver_spool_replayed_batches_total ?? 0;
    process.stdout.write(
      `${name}: spooled ${spooled} batches, replayed ${replayed}, spool full ${m.fanin_receiver_spool_full_total ?? 0} times, UDP drops ${m.fanin_receiver_udp_drops_total ?? 0}${replayed < spooled ? '  <-- fewer replayed than spooled' : ''}\n`,
    );
  }
  process.stdout.write(`http input: ${JSON.stringify(result.sender.http)}\n`);
  if (!result.caughtUp) process.stdout.write('WARNING: the sink had not caught up when the suite stopped waiting\n');
  for (const e of result.unexpectedExits)
    process.stdout.write(
      `UNEXPECTED EXIT: ${e.name} ${e.signal ?? `code ${e.code}`} at ${new Date(e.at).toISOString()}\n`,
    );
  for (const f of result.faults)
    if (f.stuck?.length)
      process.stdout.write(
        `STUCK after "${f.name}": ${f.stuck.join(', ')} did not become ready within 60 s of the heal\n`,
      );
  for (const f of result.faults) if (f.error) process.stdout.write(`SUITE ERROR in "${f.name}": ${f.error}\n`);
  for (const l of c.lostSamples)
    process.stdout.write(
      `lost: seq ${l.seq} occurrence ${l.occurrence} (${l.kind}, sent at ${l.sentS} s, copies ${l.copies.join(' ')}) in "${l.window}"${l.explained ? ' — explained' : ''}\n`,
    );
  for (const l of c.collapsedSamples.slice(0, 5))
    process.stdout.write(
      `collapsed repeat: seq ${l.seq} (sent ${l.sentS} s, repeated ${l.repeatS} s) in "${l.window}"${l.explained ? ' — a Redis wipe between' : ''}\n`,
    );
  for (const l of c.newIdSamples)
    process.stdout.write(`new id for a copy: seq ${l.seq} ids ${l.ids.join(' ')} in "${l.window}"\n`);
  process.stdout.write(
    `PostgreSQL sink (${result.postgres.table}): ${result.postgres.rows} rows, ${result.postgres.missing} missing, ${result.postgres.extra} extra\n`,
  );
  process.stdout.write(
    `${ok ? 'PASS' : 'FAIL'}: ${c.total.lost - c.total.lostExplained} unexplained lost (${c.total.lostExplained} explained), ${c.failures} failures, ${stuck} faults left members stuck, ${suiteErrors} suite errors; ${result.faults.length} faults\n`,
  );
  return { ok, failures: c.failures, stuck, suiteErrors };
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
