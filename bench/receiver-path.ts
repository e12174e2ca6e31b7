/**
 * `node dist/bench/receiver-path.js`: a receiver's CPU per syslog event over TCP, without the network or the broker.
 * Octet-counted RFC 5424 lines (the full bench's line shape, each distinct) arrive in 64 KiB chunks on a stand-in
 * socket and go the receiver's whole per-event path: the stream handler and frame decoder, parsing, the dedup key,
 * the compact body, the batcher, and the publisher's batch encoding, with a broker stand-in that confirms every
 * publish at once. The event loop turns after every chunk, as it does between socket reads.
 *
 * A/B: BENCH_PATH_ROOTS=old=/path/to/old/dist,new=dist runs each build's modules in a child process of its own, in
 * turn, BENCH_PATH_ROUNDS times (alternated, since the machine's speed drifts), and prints per build the median CPU
 * ns per event (user + system of the child over the measured span) and the median of its per-round ratios to the
 * first build.
 *
 * Settings (environment): BENCH_PATH_ROUNDS=5 BENCH_PATH_ROUND_MS=1500 BENCH_PATH_WARM_MS=500.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setImmediate as turn } from 'node:timers/promises';
import { median, positiveIntSetting } from './lib/bench-numbers.js';

const ROUNDS = positiveIntSetting('BENCH_PATH_ROUNDS', 5);
const ROUND_MS = positiveIntSetting('BENCH_PATH_ROUND_MS', 1500);
const WARM_MS = positiveIntSetting('BENCH_PATH_WARM_MS', 500);
const SELF = fileURLToPath(import.meta.url);
const OWN_DIST = resolve(dirname(SELF), '..');

const FILLER = 'GET /api/v1/items?page=3&sort=desc status=200 bytes=5120 ua="fanin-bench/1.0 (linux)" rt=0.0123';
const LINES = 40_000;
const CHUNK_BYTES = 64 * 1024;

/** The stream a sender writes: LINES distinct octet-counted lines, cut into socket-sized chunks. */
function chunks(): Buffer[] {
  const frames = Array.from({ length: LINES }, (_, i) => {
    const line = `<134>1 2026-12-07T12:00:00.${String(i % 1000).padStart(3, '0')}Z bench-host fanin-bench 4242 - - bench=0a1b2c3d:q:0:${i} ${FILLER}`;
    return Buffer.from(`${Buffer.byteLength(line)} ${line}`, 'latin1');
  });
  const all = Buffer.concat(frames);
  const out: Buffer[] = [];
  for (let at = 0; at < all.length; at += CHUNK_BYTES) out.push(Buffer.from(all.subarray(at, at + CHUNK_BYTES)));
  return out;
}

/** The socket the stream handler sees: data, and the few calls it makes. */
class StandInSocket extends EventEmitter {
  readonly remoteAddress = '::ffff:192.0.2.10';
  setTimeout(): void {}
  isPaused(): boolean {
    return false;
  }
  destroy(): void {
    throw new Error('the stand-in socket was destroyed: the stream broke');
  }
  end(): void {}
}

async function runChild(root: string): Promise<void> {
  const load = async <T>(path: string) => (await import(pathToFileURL(resolve(root, path)).href)) as T;
  const { createSyslogStreamHandler } = await load<typeof import('../receiver/inputs/syslog-connection.js')>(
    'receiver/inputs/syslog-connection.js',
  );
  const { Intake } = await load<typeof import('../receiver/intake.js')>('receiver/intake.js');
  const { EventBatcher } = await load<typeof import('../receiver/event-batcher.js')>('receiver/event-batcher.js');
  const { BatchPublisher } = await load<typeof import('../receiver/batch-publisher.js')>('receiver/batch-publisher.js');
  const { createReceiverMetrics } =
    await load<typeof import('../receiver/receiver-metrics.js')>('receiver/receiver-metrics.js');
  const { createLogger } = await load<typeof import('../shared/logger.js')>('shared/logger.js');
  const { Registry } = await import('prom-client');

  const metrics = createReceiverMetrics(new Registry());
  const log = createLogger('receiver', 'bench', 'warn');
  let published = 0;
  let publishedBytes = 0;
  const broker = {
    ready: true,
    publish: (_exchange: string, content: Buffer) => {
      published++;
      publishedBytes += content.byteLength;
      return Promise.resolve();
    },
  };
  const publisher = new BatchPublisher(
    broker as unknown as ConstructorParameters<typeof BatchPublisher>[0],
    {
      route: () => ({ exchange: 'bench.new' }),
      receiverId: 'a',
      bootId: 'b00710d5',
      maxUnconfirmed: 64,
      maxBuffered: 128,
    },
    metrics,
    log,
  );
  const batcher = new EventBatcher({ maxEvents: 2000, maxBytes: 128 * 1024, maxDelayMs: 20 }, (b) =>
    publisher.enqueue(b),
  );
  const intake = new Intake(batcher, publisher);
  const handle = createSyslogStreamHandler(
    { transport: 'tcp', receiverId: 'a', maxFrameBytes: 64 * 1024, hashSourceAddress: true, idleTimeoutMs: 0 },
    intake,
    metrics,
    log,
  );
  const socket = new StandInSocket();
  handle(socket as unknown as Parameters<typeof handle>[0]);

  const stream = chunks();
  const events = async (ms: number) => {
    let n = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (const c of stream) {
        socket.emit('data', c);
        await turn();
      }
      n += LINES;
    }
    return n;
  };
  await events(WARM_MS);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await events(ROUND_MS);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  batcher.flush();
  const cpuNs = ((cpu.user + cpu.system) * 1000) / n;
  process.stdout.write(
    `${JSON.stringify({ events: n, cpuNs, wallNs: (wallMs * 1e6) / n, batches: published, bytesPerBatch: publishedBytes / published })}\n`,
  );
  process.exit(0); // the batcher's and publisher's timers are not drained here
}

function main(): void {
  const roots = (process.env.BENCH_PATH_ROOTS ?? `current=${OWN_DIST}`).split(',').map((e) => {
    const at = e.indexOf('=');
    return { name: e.slice(0, at), root: resolve(e.slice(at + 1)) };
  });
  const samples = new Map<string, number[]>(roots.map((r) => [r.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < roots.length; k++) {
      const { name, root } = roots[(k + round) % roots.length]!;
      const out = execFileSync(process.execPath, [SELF, root], { encoding: 'utf8' });
      const r = JSON.parse(out) as { cpuNs: number };
      samples.get(name)!.push(r.cpuNs);
      process.stdout.write(`round ${round + 1} ${name.padEnd(8)} ${r.cpuNs.toFixed(0)} ns/event CPU\n`);
    }
  }
  // Per round, each build against the first one: the rounds' ratios drift less than the rounds' figures.
  const first = samples.get(roots[0]!.name)!;
  for (const { name } of roots) {
    const xs = samples.get(name)!;
    const m = median(xs);
    const ratio = median(xs.map((x, i) => x / first[i]!));
    process.stdout.write(
      `${name.padEnd(8)} median ${m.toFixed(0).padStart(6)} ns/event CPU  ${(m / 1000).toFixed(2)} CPU-s per million  ` +
        `x${ratio.toFixed(3)} (median of per-round ratios)  [${xs.map((x) => x.toFixed(0)).join(' ')}]\n`,
    );
  }
}

if (process.argv[2]) await runChild(process.argv[2]);
else main();
