/**
 * `npm run bench:edge`: the edge ceilings of ONE receiver process, with the real RabbitMQ behind it (the shared
 * broker, a namespace of its own, its `<ns>.new` queue purged between steps).
 *
 *   udp:   syslog datagrams offered at stepped rates by sender processes; per step the datagrams the receiver took in,
 *          the kernel's drops for its socket (/proc/net/udp) and the receiver's own drops. The ceiling is the highest
 *          step the senders reached with at most BENCH_EDGE_MAX_DROP_PERCENT lost.
 *   tcp:   newline-framed lines over several connections as fast as the receiver reads them (TCP backpressure).
 *   stall: the event loop's time per spooled batch: the build's SpoolJournal appending 128 KiB records at 50/s with
 *          fsync=always (bench/edge/spool-stall.ts), in the temp directory's file system.
 *   spool: the broker unreachable (an AMQP URL on a closed port), so every batch goes to the spool with fsync=always,
 *          while datagrams arrive at a steady rate: what the spool's syncs cost the UDP input.
 * Per phase: the receiver's CPU-s per million events (/proc/<pid>/stat) and its RSS. Every count and time is bounded.
 *
 * A/B: BENCH_EDGE_ENTRIES=old=/path/to/old/dist/cli/fanin.js,new=dist/cli/fanin.js runs the phases for each build in
 * turn, BENCH_EDGE_ROUNDS times (alternated, since the machine's speed drifts).
 *
 * Settings (environment): BENCH_EDGE_PORT=33100 (syslog; metrics on +1; the spool phase's dead broker on +2)
 * BENCH_EDGE_UDP_RATES=20000,40000,… BENCH_EDGE_STEP_SECONDS=4 BENCH_EDGE_UDP_SENDERS=1 BENCH_EDGE_TCP_SECONDS=6
 * BENCH_EDGE_TCP_RUNS=2 BENCH_EDGE_TCP_CONNECTIONS=4 BENCH_EDGE_SPOOL_RATE=10000 BENCH_EDGE_SPOOL_SECONDS=10
 * BENCH_EDGE_PHASES=udp,tcp,stall,spool BENCH_EDGE_MAX_DROP_PERCENT=0.1 BENCH_EDGE_FAILED_STEPS_TO_STOP=2 BENCH_EDGE_ROUNDS=1
 * BENCH_LABEL=run.
 * Writes bench/results/edge-latest.json and bench/results/history/<UTC time>-edge-<BENCH_LABEL>.json.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
import { cleanupNamespace } from '../testkit/services.js';
import { median, positiveIntSetting } from './lib/bench-numbers.js';
import { EdgeReceiver, type EdgeReading } from './edge/receiver-process.js';
import { runSenders } from './edge/sender-processes.js';

const AMQP_URL = process.env.FANIN_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RESULTS = fileURLToPath(new URL('../../bench/results/edge-latest.json', import.meta.url));
const UDP_SENDER = fileURLToPath(new URL('./edge/udp-sender.js', import.meta.url));
const TCP_SENDER = fileURLToPath(new URL('./edge/tcp-sender.js', import.meta.url));
const SPOOL_STALL = fileURLToPath(new URL('./edge/spool-stall.js', import.meta.url));
const OWN_ENTRY = fileURLToPath(new URL('../cli/fanin.js', import.meta.url));

const cfg = {
  port: positiveIntSetting('BENCH_EDGE_PORT', 33100),
  udpRates: (process.env.BENCH_EDGE_UDP_RATES ?? '20000,40000,60000,80000,100000,125000,150000,200000,250000')
    .split(',')
    .map(Number),
  stepSeconds: positiveIntSetting('BENCH_EDGE_STEP_SECONDS', 4),
  udpSenders: positiveIntSetting('BENCH_EDGE_UDP_SENDERS', 1),
  tcpSeconds: positiveIntSetting('BENCH_EDGE_TCP_SECONDS', 6),
  tcpRuns: positiveIntSetting('BENCH_EDGE_TCP_RUNS', 2),
  tcpConnections: positiveIntSetting('BENCH_EDGE_TCP_CONNECTIONS', 4),
  spoolRate: positiveIntSetting('BENCH_EDGE_SPOOL_RATE', 10_000),
  spoolSeconds: positiveIntSetting('BENCH_EDGE_SPOOL_SECONDS', 10),
  rounds: positiveIntSetting('BENCH_EDGE_ROUNDS', 1),
  /** Failed steps in a row after which the higher rates are skipped (they only fail longer). */
  failedStepsToStop: positiveIntSetting('BENCH_EDGE_FAILED_STEPS_TO_STOP', 2),
  maxDropPercent: Number(process.env.BENCH_EDGE_MAX_DROP_PERCENT ?? '0.1'),
  phases: (process.env.BENCH_EDGE_PHASES ?? 'udp,tcp,stall,spool').split(','),
  label: process.env.BENCH_LABEL ?? 'run',
};

const entries = (process.env.BENCH_EDGE_ENTRIES ?? `current=${OWN_ENTRY}`).split(',').map((e) => {
  const at = e.indexOf('=');
  return { name: e.slice(0, at), entry: e.slice(at + 1) };
});

const out = (line: string) => process.stdout.write(`${line}\n`);
const round1 = (n: number) => Math.round(n * 10) / 10;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

interface UdpStep {
  readonly offeredRate: number;
  readonly sentRate: number;
  readonly sent: number;
  readonly accepted: number;
  readonly acceptedPerSecond: number;
  readonly dropPercent: number;
  readonly kernelDrops: number;
  readonly receiverDrops: number;
  readonly cpuSecondsPerMillion: number;
  readonly receiverCpuPercent: number;
  readonly rssMiB: number;
  readonly pass: boolean;
}

async function purge(queue: string): Promise<void> {
  const conn = await connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.purgeQueue(queue).catch(() => undefined);
    await ch.close().catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

function cpuPerMillion(before: EdgeReading, after: EdgeReading, events: number): number {
  return events > 0 ? round1(((after.cpuSeconds - before.cpuSeconds) / events) * 1e6) : NaN;
}

async function udpStep(receiver: EdgeReceiver, rate: number, spooling: boolean): Promise<UdpStep> {
  const seconds = spooling ? cfg.spoolSeconds : cfg.stepSeconds;
  const before = await receiver.settled();
  const sent = await runSenders(UDP_SENDER, cfg.udpSenders, {
    EDGE_PORT: String(cfg.port),
    EDGE_RATE: String(Math.ceil(rate / cfg.udpSenders)),
    EDGE_COUNT: String(Math.ceil((rate * seconds) / cfg.udpSenders)),
    EDGE_SECONDS: String(seconds + 2),
  });
  const after = await receiver.settled();
  const accepted = after.udpReceived - before.udpReceived;
  const dropPercent = sent.sent > 0 ? (100 * Math.max(0, sent.sent - accepted)) / sent.sent : 0;
  const sentRate = sent.sent / sent.seconds;
  return {
    offeredRate: rate,
    sentRate: Math.round(sentRate),
    sent: sent.sent,
    accepted,
    acceptedPerSecond: Math.round(accepted / sent.seconds),
    dropPercent: round3(dropPercent),
    kernelDrops: after.udpKernelDrops - before.udpKernelDrops,
    receiverDrops: after.udpAppDrops - before.udpAppDrops,
    cpuSecondsPerMillion: cpuPerMillion(before, after, accepted),
    receiverCpuPercent: round1((100 * (after.cpuSeconds - before.cpuSeconds)) / sent.seconds),
    rssMiB: after.rssMiB,
    // The senders must have offered the rate: a step they could not reach says nothing about the receiver.
    pass: dropPercent <= cfg.maxDropPercent && sentRate >= 0.95 * rate,
  };
}

function printUdp(s: UdpStep): void {
  out(
    `    offered ${s.offeredRate}/s (sent ${s.sentRate}/s): accepted ${s.acceptedPerSecond}/s, drops ${s.dropPercent} % ` +
      `(kernel ${s.kernelDrops}, receiver ${s.receiverDrops}), ${s.cpuSecondsPerMillion} CPU-s/M, ` +
      `receiver CPU ${s.receiverCpuPercent} %, RSS ${s.rssMiB} MiB ${s.pass ? 'ok' : 'FAIL'}`,
  );
}

async function withReceiver<T>(
  entry: string,
  namespace: string,
  amqpUrl: string,
  env: Record<string, string>,
  body: (r: EdgeReceiver) => Promise<T>,
): Promise<T> {
  const receiver = new EdgeReceiver({
    entry,
    namespace,
    amqpUrl,
    syslogPort: cfg.port,
    metricsPort: cfg.port + 1,
    env,
  });
  try {
    await receiver.started(amqpUrl === AMQP_URL);
    return await body(receiver);
  } finally {
    await receiver.stop();
  }
}

async function udpPhase(entry: string, namespace: string) {
  return withReceiver(entry, namespace, AMQP_URL, {}, async (receiver) => {
    const steps: UdpStep[] = [];
    let failedInARow = 0;
    for (const rate of cfg.udpRates) {
      const step = await udpStep(receiver, rate, false);
      printUdp(step);
      steps.push(step);
      await purge(`${namespace}.new`);
      failedInARow = step.pass ? 0 : failedInARow + 1;
      if (failedInARow >= cfg.failedStepsToStop) break;
    }
    const passed = steps.filter((s) => s.pass);
    const ceiling = passed.length > 0 ? Math.max(...passed.map((s) => s.acceptedPerSecond)) : 0;
    const busiest = steps.reduce((a, b) => (b.acceptedPerSecond > a.acceptedPerSecond ? b : a));
    return {
      ceilingDatagramsPerSecond: ceiling,
      bestAcceptedPerSecond: busiest.acceptedPerSecond,
      // What one core would take at the busiest step's cost per datagram: on a shared box the receiver rarely gets
      // a whole core, so its drops measure the machine as much as the receiver.
      perCoreDatagramsPerSecond: Math.round(1e6 / busiest.cpuSecondsPerMillion),
      steps,
    };
  });
}

async function tcpPhase(entry: string, namespace: string) {
  return withReceiver(entry, namespace, AMQP_URL, {}, async (receiver) => {
    const runs = [];
    for (let i = 0; i < cfg.tcpRuns; i++) {
      const before = await receiver.settled();
      const sent = await runSenders(TCP_SENDER, 1, {
        EDGE_PORT: String(cfg.port),
        EDGE_COUNT: String(2_000_000 * cfg.tcpSeconds),
        EDGE_SECONDS: String(cfg.tcpSeconds),
        EDGE_CONNECTIONS: String(cfg.tcpConnections),
      });
      const after = await receiver.settled();
      const lines = after.tcpReceived - before.tcpReceived;
      const run = {
        sent: sent.sent,
        lines,
        linesPerSecond: Math.round(lines / sent.seconds),
        cpuSecondsPerMillion: cpuPerMillion(before, after, lines),
        receiverCpuPercent: round1((100 * (after.cpuSeconds - before.cpuSeconds)) / sent.seconds),
        rssMiB: after.rssMiB,
      };
      out(
        `    ${run.linesPerSecond} lines/s (${lines} of ${sent.sent}), ${run.cpuSecondsPerMillion} CPU-s/M, ` +
          `receiver CPU ${run.receiverCpuPercent} %, RSS ${run.rssMiB} MiB`,
      );
      runs.push(run);
      await purge(`${namespace}.new`);
    }
    return {
      medianLinesPerSecond: median(runs.map((r) => r.linesPerSecond)),
      medianCpuSecondsPerMillion: median(runs.map((r) => r.cpuSecondsPerMillion)),
      perCoreLinesPerSecond: Math.round(1e6 / median(runs.map((r) => r.cpuSecondsPerMillion))),
      runs,
    };
  });
}

async function spoolPhase(entry: string, namespace: string) {
  const deadBroker = `amqp://guest:guest@127.0.0.1:${cfg.port + 2}`;
  return withReceiver(entry, namespace, deadBroker, { FANIN_RECEIVER_SPOOL_FSYNC: 'always' }, async (receiver) => {
    const before = await receiver.read();
    const step = await udpStep(receiver, cfg.spoolRate, true);
    const after = await receiver.read();
    printUdp(step);
    const spooledBatches = after.spooledBatches - before.spooledBatches;
    out(`    spooled ${spooledBatches} batches`);
    return { ...step, spooledBatches };
  });
}

function stallPhase(entry: string): Record<string, unknown> {
  const dir = mkdtempSync(join(os.tmpdir(), 'fanin-edge-stall-'));
  try {
    const text = execFileSync(process.execPath, [SPOOL_STALL], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        EDGE_SPOOL_MODULE: join(dirname(entry), '../receiver/spool/spool-journal.js'),
        EDGE_SPOOL_DIR: dir,
      },
    });
    const result = JSON.parse(text.trim()) as Record<string, unknown>;
    out(`    ${JSON.stringify(result)}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const namespace = `edge-${randomBytes(4).toString('hex')}`;
  const load0 = os.loadavg();
  out(`fanin edge bench: namespace ${namespace}, ${os.cpus().length} cores, load ${load0.map(round1).join(' ')}`);
  const runs: Record<string, unknown>[] = [];
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const { name, entry } of entries) {
        out(`round ${round}, ${name} (${entry})`);
        const run: Record<string, unknown> = { round, build: name, entry, loadAverage: os.loadavg().map(round1) };
        if (cfg.phases.includes('udp')) {
          out('  udp steps:');
          run.udp = await udpPhase(entry, namespace);
        }
        if (cfg.phases.includes('tcp')) {
          out('  tcp:');
          run.tcp = await tcpPhase(entry, namespace);
        }
        if (cfg.phases.includes('stall')) {
          out('  event loop held per spooled batch (fsync always):');
          run.stall = stallPhase(entry);
        }
        if (cfg.phases.includes('spool')) {
          out(`  udp at ${cfg.spoolRate}/s while spooling (broker unreachable, fsync always):`);
          run.spool = await spoolPhase(entry, namespace);
        }
        runs.push(run);
      }
    }
  } finally {
    await cleanupNamespace(namespace).catch((err: Error) => out(`  cleanup: ${err.message}`));
  }
  const report = JSON.stringify(
    {
      at: new Date().toISOString(),
      label: cfg.label,
      machine: { cores: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      settings: { ...cfg, entries },
      loadAverage: { start: load0.map(round1), end: os.loadavg().map(round1) },
      runs,
    },
    null,
    2,
  );
  writeFileSync(RESULTS, `${report}\n`);
  const stamp = new Date().toISOString().slice(0, 16).replace(/[T:]/g, '-');
  const history = join(dirname(RESULTS), 'history', `${stamp}-edge-${cfg.label}.json`);
  mkdirSync(dirname(history), { recursive: true });
  writeFileSync(history, `${report}\n`);
  out(`results: ${RESULTS} and ${history}`);
}

await main();
