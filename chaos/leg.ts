import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { newQueueShards, topologyNames } from '../shared/amqp/topology.js';
import { check, type CheckResult, type FaultRecord } from './checker.js';
import type { ChaosContext } from './faults.js';
import { Fleet, type ExitRecord, type FleetLayout } from './fleet.js';
import { checkPostgresSink, CHAOS_POSTGRES_URL, dropPostgresTable, type PostgresSinkCheck } from './postgres-check.js';
import type { Profile } from './profiles.js';
import { FanOutSender, type HttpStats } from './sender.js';
import { SinkReader } from './sink-reader.js';
import type { Teardown } from './teardown.js';
import { note, sleep } from './util.js';

export interface SuiteResult {
  readonly profile: string;
  /** Which setup this run of the fleet had (the cluster profile runs one fleet per Redis deployment). */
  readonly leg?: string;
  readonly runId: string;
  readonly namespace: string;
  readonly rate: number;
  readonly startedAt: string;
  readonly streamSeconds: number;
  readonly faults: (FaultRecord & { injectS: number; healS: number })[];
  readonly check: CheckResult;
  readonly postgres: PostgresSinkCheck;
  readonly unexpectedExits: ExitRecord[];
  readonly sender: { events: number; skippedCopies: Record<string, number>; udpSendErrors: number; http: HttpStats };
  readonly sink: {
    lines: number;
    secondaryLines: number;
    unparseable: number;
    torn: number;
    foreign: number;
    rejected: number;
  };
  readonly queuesAtEnd: Record<string, number | null>;
  readonly caughtUp: boolean;
  /** The sink when the first fault was injected: lines of this run, and lines whose id an earlier line had. */
  readonly beforeFaults: { lines: number; sameIdDuplicates: number };
  /** Counters summed over every process each member ran as (scraped every 2 s: the last increments may be missing). */
  readonly metrics: Record<string, Record<string, number>>;
  readonly logs: ReturnType<Fleet['logStats']>;
  readonly logDir: string;
}

/** What the fleet of a leg talks to, and where it writes. */
export interface LegSetup {
  readonly profile: Pick<Profile, 'name' | 'baselineMs' | 'steps' | 'cooldownMs' | 'drainMs'>;
  readonly leg?: string;
  readonly runId: string;
  readonly rate: number;
  readonly workDir: string;
  /** The fleet's layout but for what the leg derives itself (namespace, PostgreSQL table). */
  readonly fleet: Omit<FleetLayout, 'namespace'>;
  /** Depth of a queue on the broker, null when it cannot be read. */
  readonly queueDepth: (queue: string) => Promise<number | null>;
  /** What the faults act on, but the fleet and the namespace (the leg's own). */
  readonly context: Omit<ChaosContext, 'fleet' | 'namespace'>;
}

/**
 * One fleet streaming through one setup: starts the fleet (file and PostgreSQL sinks), the sink reader and the
 * sender, injects the steps' faults, waits for the sink to catch up, stops the fleet and checks every event.
 */
export async function runLeg(setup: LegSetup, teardown: Teardown): Promise<SuiteResult> {
  const { profile, runId, rate } = setup;
  const namespace = `chaos-${runId}`;
  const names = topologyNames(namespace);
  const newQueues = newQueueShards(namespace, Number(setup.fleet.env?.FANIN_NEW_QUEUE_SHARDS ?? 1));
  const { sinkDir, secondaryDir, logDir } = setup.fleet;

  const pgTable = `chaos_${runId.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  teardown.add(`drop ${pgTable}`, () => dropPostgresTable(pgTable));
  const fleet = await Fleet.create({
    ...setup.fleet,
    namespace,
    // The idempotent PostgreSQL sink runs beside the file sink, on its own queue (issue 7).
    env: {
      FANIN_SINKS: 'file,postgres',
      FANIN_UPLOADER_POSTGRES_SINK_URL: CHAOS_POSTGRES_URL,
      FANIN_UPLOADER_POSTGRES_SINK_TABLE: pgTable,
      ...setup.fleet.env,
    },
  });
  teardown.add('stop the fleet', () => fleet.stop());
  await fleet.start();
  note(
    `fleet ready${setup.leg ? ` (${setup.leg})` : ''}: ${fleet.members.map((m) => `${m.name} pid ${fleet.pid(m.name)}`).join(', ')}`,
  );

  const reader = new SinkReader(
    [
      { path: sinkDir, secondary: false },
      { path: join(secondaryDir, 'file'), secondary: true },
    ],
    runId,
  );
  reader.start(250);
  teardown.add('stop the sink reader', () => reader.stop());

  const totalMs = profile.baselineMs + profile.cooldownMs + profile.steps.reduce((a, st) => a + st.pauseMs + 30_000, 0);
  const sender = new FanOutSender(
    {
      targets: fleet.receiverPorts.map((p) => ({ id: p.id, host: '127.0.0.1', port: p.syslog, httpPort: p.http })),
      runId,
      rate,
      repeatFraction: 0.1,
      repeatDelayMs: [1000, 4000],
      soloFraction: 0.05,
      httpRate: Math.round(rate * 0.05),
    },
    Math.ceil((rate * totalMs) / 1000),
  );
  await sender.start();
  teardown.add('stop the sender', () => sender.stop());
  const streamStart = Date.now();
  const ctx: ChaosContext = { ...setup.context, fleet, namespace };
  await sleep(profile.baselineMs);

  await reader.poll();
  const beforeFaults = sameIdDuplicates(reader.lines());
  const faults: FaultRecord[] = [];
  for (const [i, step] of profile.steps.entries()) {
    const f = step.fault;
    const deadLetteredBefore = await setup.queueDepth(names.deadQueue);
    note(`fault ${i + 1}/${profile.steps.length}: ${f.name}`);
    const injectAt = Date.now();
    try {
      const o = await f.run(ctx);
      faults.push({ name: f.name, kind: f.kind, target: f.target, deadLetteredBefore, ...o });
      note(`  healed after ${((o.healAt - o.injectAt) / 1000).toFixed(1)} s${o.detail ? `; ${o.detail}` : ''}`);
    } catch (err) {
      note(`  FAULT ERROR: ${(err as Error).message}`);
      faults.push({
        name: f.name,
        kind: f.kind,
        target: f.target,
        deadLetteredBefore,
        injectAt,
        healAt: Date.now(),
        receiverKills: [],
        redisWipes: [],
        error: (err as Error).message,
      });
    }
    const stuck = await untilReady(fleet, 60_000);
    if (stuck.length > 0) {
      // A member that does not recover by itself is a finding; restart it (what an operator would do) to go on.
      note(`  STUCK: ${stuck.join(', ')} not ready 60 s after the heal; restarting them`);
      faults[faults.length - 1] = { ...faults[faults.length - 1]!, stuck };
      for (const name of stuck)
        await fleet.killAndAwaitRestart(name, true).catch((err: Error) => note(`  ${name}: ${err.message}`));
    }
    await sleep(step.pauseMs);
  }
  await sleep(profile.cooldownMs);
  await sender.stop();
  const streamEnd = Date.now();
  note(
    `sender stopped: ${sender.sent} events in ${((streamEnd - streamStart) / 1000).toFixed(0)} s; waiting for the sink to catch up`,
  );

  const caughtUp = await waitCaughtUp(
    reader,
    setup.queueDepth,
    [...newQueues, names.sinkQueue('file'), names.sinkQueue('postgres')],
    profile.drainMs,
  );
  await reader.stop();
  const queuesAtEnd: Record<string, number | null> = {};
  for (const q of [...newQueues, names.sinkQueue('file'), names.deadQueue]) queuesAtEnd[q] = await setup.queueDepth(q);
  await fleet.stop();

  const result = check({
    send: sender.sendLog,
    lines: () => reader.lines(),
    faults,
    streamStart,
    deadLetteredAtEnd: queuesAtEnd[names.deadQueue] ?? null,
  });
  const postgres = await checkPostgresSink(
    pgTable,
    Array.from(reader.lines(), (l) => l.id),
  );
  note(`postgres sink: ${postgres.rows} rows, ${postgres.missing} missing, ${postgres.extra} extra`);
  // A tmpfs sink is unmounted by the teardown: keep a copy when someone will want to look at it.
  if (result.failures > 0 || reader.unparseable > 0 || process.env.CHAOS_KEEP === '1') {
    await cp(sinkDir, join(setup.workDir, 'out'), { recursive: true }).catch((err: Error) =>
      note(`could not keep the sink files: ${err.message}`),
    );
  }
  const rel = (t: number) => Math.round((t - streamStart) / 100) / 10;
  const receivers = setup.fleet.receivers;
  return {
    profile: profile.name,
    ...(setup.leg ? { leg: setup.leg } : {}),
    runId,
    namespace,
    rate,
    startedAt: new Date(streamStart).toISOString(),
    streamSeconds: Math.round((streamEnd - streamStart) / 1000),
    faults: faults.map((f) => ({ ...f, injectS: rel(f.injectAt), healS: rel(f.healAt) })),
    check: { ...result, failures: result.failures + postgres.missing + postgres.extra },
    postgres,
    unexpectedExits: fleet.exits.filter((e) => !e.expected),
    sender: {
      events: sender.sent,
      skippedCopies: Object.fromEntries(receivers.map((r, i) => [r, sender.skipped[i]!])),
      udpSendErrors: sender.udpErrors.count,
      http: sender.http,
    },
    sink: {
      lines: reader.count,
      secondaryLines: reader.secondaryLines,
      unparseable: reader.unparseable,
      torn: reader.torn,
      foreign: reader.foreign,
      rejected: reader.rejected,
    },
    queuesAtEnd,
    caughtUp,
    beforeFaults,
    metrics: fleet.totals(),
    logs: fleet.logStats(),
    logDir,
  };
}

/** Lines, and lines that repeat an earlier line's id (a line written twice: the exactly-once promise broken). */
function sameIdDuplicates(lines: Iterable<{ id: string }>): { lines: number; sameIdDuplicates: number } {
  const seen = new Set<string>();
  let count = 0;
  for (const l of lines) {
    count++;
    seen.add(l.id);
  }
  return { lines: count, sameIdDuplicates: count - seen.size };
}

/** Waits until every member is ready; returns those still not ready after `timeoutMs`. */
async function untilReady(fleet: Fleet, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await fleet.notReady();
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(250);
  }
}

/** Until the queues are empty and no line landed for a few seconds (spools replayed, redeliveries written). */
async function waitCaughtUp(
  reader: SinkReader,
  queueDepth: (q: string) => Promise<number | null>,
  queues: readonly string[],
  maxMs: number,
): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(1000);
    await reader.poll();
    if (Date.now() - reader.lastLandedAt < 5000) continue;
    const depths = await Promise.all(queues.map((q) => queueDepth(q)));
    if (depths.every((d) => d === 0)) return true;
  }
  note(`the sink did not catch up within ${maxMs / 1000} s`);
  return false;
}
