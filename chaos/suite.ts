import { checkPostgresSink, CHAOS_POSTGRES_URL, dropPostgresTable, type PostgresSinkCheck } from './postgres-check.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { topologyNames } from '../shared/amqp/topology.js';
import { TcpProxy } from '../test/support/tcp-proxy.js';
import { check, type CheckResult, type FaultRecord } from './checker.js';
import type { ChaosContext } from './faults.js';
import { Fleet, type ExitRecord } from './fleet.js';
import { PrivateRabbitMQ } from './private-rabbitmq.js';
import { PrivateRedis } from './private-redis.js';
import type { Profile } from './profiles.js';
import { FanOutSender, type HttpStats } from './sender.js';
import { SinkReader } from './sink-reader.js';
import { note, run, sleep } from './util.js';

export const RECEIVERS = ['a', 'b', 'c'] as const;
/** Receiver whose spool directory is a tiny tmpfs: it fills within seconds of any broker outage. */
export const TINY_SPOOL_RECEIVER = 'c';
const TINY_SPOOL_SIZE = '256k';
/** Segments of that spool: several fit, so a segment can be replayed and deleted while a later one is written. */
const TINY_SPOOL_SEGMENT_BYTES = '32768';
/** The sink's own file system, so that it can be filled (sink-disk-full) without touching the machine's disk. */
const SINK_FS_SIZE = '1g';

export interface SuiteOptions {
  readonly workDir: string;
  /** Overrides the profile's rate (events per second). */
  readonly rate?: number;
}

export interface SuiteResult {
  readonly profile: string;
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
  readonly sink: { lines: number; secondaryLines: number; unparseable: number; torn: number; foreign: number; rejected: number };
  readonly queuesAtEnd: Record<string, number | null>;
  readonly caughtUp: boolean;
  /** Counters summed over every process each member ran as (scraped every 2 s: the last increments may be missing). */
  readonly metrics: Record<string, Record<string, number>>;
  readonly logs: ReturnType<Fleet['logStats']>;
  readonly logDir: string;
}

/**
 * Cleanup steps registered as resources come up, run once in reverse order (on success, error or a signal).
 */
export class Teardown {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];
  private done: Promise<void> | null = null;

  add(what: string, fn: () => Promise<void>): void { this.steps.push({ what, fn }); }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try { await step.fn(); } catch (err) { note(`cleanup: ${step.what} failed: ${(err as Error).message}`); }
      }
    })();
    return this.done;
  }
}

/**
 * Brings up a private RabbitMQ and Redis, the fleet and the sender, injects the profile's faults while streaming,
 * waits for the sink to catch up, and checks every event. The caller runs `teardown` (whatever happened).
 */
export async function runSuite(profile: Profile, options: SuiteOptions, teardown: Teardown): Promise<SuiteResult> {
  const runId = randomBytes(4).toString('hex');
  const namespace = `chaos-${runId}`;
  const names = topologyNames(namespace);
  const rate = options.rate ?? profile.rate;
  const dir = (name: string) => { const p = join(options.workDir, name); mkdirSync(p, { recursive: true }); return p; };
  const sinkFs = dir('sinkfs');
  const secondaryDir = dir('secondary');
  const spoolDir = dir('spool');
  const logDir = dir('logs');
  note(`profile ${profile.name}: ${profile.steps.length} faults at ${rate} events/s; work dir ${options.workDir}`);

  const rabbit = await PrivateRabbitMQ.create(dir('rabbitmq'));
  teardown.add('stop RabbitMQ', async () => {
    if (rabbit.running) await rabbit.stop();
    await rabbit.kill(); // whatever is left of our node after a failed stop or start (found by its unique name)
  });
  await rabbit.start();
  note(`private RabbitMQ ${rabbit.nodeName} on ${rabbit.port}`);
  const redis = await PrivateRedis.create(dir('redis'));
  teardown.add('stop Redis', () => redis.kill());
  await redis.start();
  note(`private Redis on ${redis.port}`);

  const proxies = new Map<string, TcpProxy>();
  for (const id of RECEIVERS) {
    const proxy = new TcpProxy('127.0.0.1', rabbit.port);
    await proxy.start();
    proxies.set(id, proxy);
  }
  teardown.add('close proxies', async () => { for (const p of proxies.values()) await p.cut(); });

  const tiny = dir(join('spool', TINY_SPOOL_RECEIVER));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${TINY_SPOOL_SIZE}`, 'tmpfs', tiny]);
  teardown.add(`unmount ${tiny}`, async () => { await run('umount', [tiny]).catch(() => run('umount', ['-l', tiny])); });

  await run('mount', ['-t', 'tmpfs', '-o', `size=${SINK_FS_SIZE}`, 'tmpfs', sinkFs]);
  teardown.add(`unmount ${sinkFs}`, async () => { await run('umount', [sinkFs]).catch(() => run('umount', ['-l', sinkFs])); });
  const sinkDir = dir(join('sinkfs', 'out'));

  const pgTable = `chaos_${runId.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  teardown.add(`drop ${pgTable}`, () => dropPostgresTable(pgTable));
  const fleet = await Fleet.create({
    namespace, redisUrl: redis.url, amqpUrl: rabbit.url, receiverAmqpUrl: (id) => `amqp://guest:guest@127.0.0.1:${proxies.get(id)!.port}`,
    spoolDir, sinkDir, secondaryDir, logDir, receivers: RECEIVERS, workers: 2,
    // A 20 s sink outage must reach the secondary: 4 attempts are ~1.5 s of backoff.
    // The idempotent PostgreSQL sink runs beside the file sink, on its own queue (issue 7).
    env: {
      FANIN_UPLOADER_SINK_MAX_ATTEMPTS: '4', FANIN_SINKS: 'file,postgres',
      FANIN_UPLOADER_POSTGRES_SINK_URL: CHAOS_POSTGRES_URL, FANIN_UPLOADER_POSTGRES_SINK_TABLE: pgTable,
    },
    receiverEnv: { [TINY_SPOOL_RECEIVER]: { FANIN_RECEIVER_SPOOL_SEGMENT_BYTES: TINY_SPOOL_SEGMENT_BYTES } },
  });
  teardown.add('stop the fleet', () => fleet.stop());
  await fleet.start();
  note(`fleet ready: ${fleet.members.map((m) => `${m.name} pid ${fleet.pid(m.name)}`).join(', ')}`);

  const reader = new SinkReader([{ path: sinkDir, secondary: false }, { path: join(secondaryDir, 'file'), secondary: true }], runId);
  reader.start(250);
  teardown.add('stop the sink reader', () => reader.stop());

  const totalMs = profile.baselineMs + profile.cooldownMs + profile.steps.reduce((a, st) => a + st.pauseMs + 30_000, 0);
  const sender = new FanOutSender({
    targets: fleet.receiverPorts.map((p) => ({ id: p.id, host: '127.0.0.1', port: p.syslog, httpPort: p.http })),
    runId, rate, repeatFraction: 0.1, repeatDelayMs: [1000, 4000], soloFraction: 0.05, httpRate: Math.round(rate * 0.05),
  }, Math.ceil((rate * totalMs) / 1000));
  await sender.start();
  teardown.add('stop the sender', () => sender.stop());
  const streamStart = Date.now();
  const ctx: ChaosContext = { fleet, rabbit, redis, proxies, sinkDir, sinkFs };
  await sleep(profile.baselineMs);

  const faults: FaultRecord[] = [];
  for (const [i, step] of profile.steps.entries()) {
    const f = step.fault;
    const deadLetteredBefore = await rabbit.queueDepth(names.deadQueue);
    note(`fault ${i + 1}/${profile.steps.length}: ${f.name}`);
    const injectAt = Date.now();
    try {
      const o = await f.run(ctx);
      faults.push({ name: f.name, kind: f.kind, target: f.target, deadLetteredBefore, ...o });
      note(`  healed after ${((o.healAt - o.injectAt) / 1000).toFixed(1)} s`);
    } catch (err) {
      note(`  FAULT ERROR: ${(err as Error).message}`);
      faults.push({ name: f.name, kind: f.kind, target: f.target, deadLetteredBefore, injectAt, healAt: Date.now(), receiverKills: [], redisWipes: [], error: (err as Error).message });
    }
    const stuck = await untilReady(fleet, 60_000);
    if (stuck.length > 0) {
      // A member that does not recover by itself is a finding; restart it (what an operator would do) to go on.
      note(`  STUCK: ${stuck.join(', ')} not ready 60 s after the heal; restarting them`);
      faults[faults.length - 1] = { ...faults[faults.length - 1]!, stuck };
      for (const name of stuck) await fleet.killAndAwaitRestart(name, true).catch((err: Error) => note(`  ${name}: ${err.message}`));
    }
    await sleep(step.pauseMs);
  }
  await sleep(profile.cooldownMs);
  await sender.stop();
  const streamEnd = Date.now();
  note(`sender stopped: ${sender.sent} events in ${((streamEnd - streamStart) / 1000).toFixed(0)} s; waiting for the sink to catch up`);

  const caughtUp = await waitCaughtUp(reader, rabbit, [names.newQueue, names.sinkQueue('file'), names.sinkQueue('postgres')], profile.drainMs);
  await reader.stop();
  const queuesAtEnd: Record<string, number | null> = {};
  for (const q of [names.newQueue, names.sinkQueue('file'), names.deadQueue]) queuesAtEnd[q] = await rabbit.queueDepth(q);
  await fleet.stop();

  const result = check({
    send: sender.sendLog, lines: () => reader.lines(), faults, streamStart, deadLetteredAtEnd: queuesAtEnd[names.deadQueue] ?? null,
  });
  const postgres = await checkPostgresSink(pgTable, Array.from(reader.lines(), (l) => l.id));
  note(`postgres sink: ${postgres.rows} rows, ${postgres.missing} missing, ${postgres.extra} extra`);
  // The sink lives on a tmpfs that teardown unmounts: keep a copy when someone will want to look at it.
  if (result.failures > 0 || reader.unparseable > 0 || process.env.CHAOS_KEEP === '1') {
    await cp(sinkDir, join(options.workDir, 'out'), { recursive: true }).catch((err: Error) => note(`could not keep the sink files: ${err.message}`));
  }
  const rel = (t: number) => Math.round((t - streamStart) / 100) / 10;
  return {
    profile: profile.name, runId, namespace, rate, startedAt: new Date(streamStart).toISOString(),
    streamSeconds: Math.round((streamEnd - streamStart) / 1000),
    faults: faults.map((f) => ({ ...f, injectS: rel(f.injectAt), healS: rel(f.healAt) })),
    check: { ...result, failures: result.failures + postgres.missing + postgres.extra },
    postgres,
    unexpectedExits: fleet.exits.filter((e) => !e.expected),
    sender: { events: sender.sent, skippedCopies: Object.fromEntries(RECEIVERS.map((r, i) => [r, sender.skipped[i]!])), udpSendErrors: sender.udpErrors.count, http: sender.http },
    sink: { lines: reader.count, secondaryLines: reader.secondaryLines, unparseable: reader.unparseable, torn: reader.torn, foreign: reader.foreign, rejected: reader.rejected },
    queuesAtEnd, caughtUp, metrics: fleet.totals(), logs: fleet.logStats(), logDir,
  };
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
async function waitCaughtUp(reader: SinkReader, rabbit: PrivateRabbitMQ, queues: readonly string[], maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(1000);
    await reader.poll();
    if (Date.now() - reader.lastLandedAt < 5000) continue;
    const depths = await Promise.all(queues.map((q) => rabbit.queueDepth(q)));
    if (depths.every((d) => d === 0)) return true;
  }
  note(`the sink did not catch up within ${maxMs / 1000} s`);
  return false;
}

export async function removeWorkDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
