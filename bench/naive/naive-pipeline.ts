/**
 * The naive baseline (the original blog/duplog design), one role per process:
 *
 *   receiver  TCP syslog (octet counting) → ONE persistent AMQP message per event to `<ns>.naive`, each with its own
 *             publisher confirm; the sockets pause while `NAIVE_MAX_UNCONFIRMED` confirms are outstanding.
 *   dedup     consumes `<ns>.naive` (prefetch `NAIVE_PREFETCH`), ONE Redis round trip per event
 *             (`SET <ns>:naive:<sha256(line)> 1 NX EX 600`), and if new publishes ONE message to
 *             `<ns>.naive.processed` and waits for its confirm; then acks.
 *   uploader  consumes `<ns>.naive.processed` and appends each event to one file (one write per event), then acks.
 *
 * No batching anywhere, by design. Honest, not a strawman: confirms and Redis calls are pipelined up to the window
 * and prefetch (many in flight), the receiver does not parse syslog (less work than fanin), and the uploader does
 * not fsync unless NAIVE_FSYNC=1 (fanin's file sink fdatasyncs every write by default). Each process serves
 * /readyz and /metrics on 127.0.0.1:NAIVE_OPS_PORT; the uploader's end-to-end latency histogram has the same
 * buckets as fanin's.
 *
 * Usage: node dist/bench/naive/naive-pipeline.js receiver|dedup|uploader (settings from NAIVE_* variables).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import { Counter, Histogram, Registry } from 'prom-client';
import { SyslogFrameDecoder } from '../../receiver/syslog/frame-decoder.js';

export const NAIVE_LATENCY_METRIC = 'naive_uploader_end_to_end_latency_seconds';
/** The buckets of fanin_uploader_end_to_end_latency_seconds, so both quantile estimates have the same resolution. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function naiveQueues(namespace: string): { incoming: string; processed: string } {
  return { incoming: `${namespace}.naive`, processed: `${namespace}.naive.processed` };
}

interface NaiveEnv {
  readonly role: string;
  readonly id: string;
  readonly namespace: string;
  readonly amqpUrl: string;
  readonly redisUrl: string;
  readonly queueType: string;
  readonly port: number;
  readonly opsPort: number;
  readonly outFile: string;
  readonly maxUnconfirmed: number;
  readonly prefetch: number;
  readonly fsync: boolean;
}

function readEnv(role: string): NaiveEnv {
  const e = process.env;
  const need = (name: string): string => {
    const v = e[name];
    if (!v) throw new Error(`naive ${role}: ${name} is not set`);
    return v;
  };
  return {
    role,
    id: e.NAIVE_ID ?? role,
    namespace: need('NAIVE_NAMESPACE'),
    amqpUrl: e.NAIVE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    redisUrl: e.NAIVE_REDIS_URL ?? 'redis://127.0.0.1:6379',
    queueType: e.NAIVE_QUEUE_TYPE ?? 'quorum',
    port: Number(e.NAIVE_PORT ?? 0),
    opsPort: Number(need('NAIVE_OPS_PORT')),
    outFile: e.NAIVE_OUT_FILE ?? '',
    maxUnconfirmed: Number(e.NAIVE_MAX_UNCONFIRMED ?? 1000),
    prefetch: Number(e.NAIVE_PREFETCH ?? 100),
    fsync: e.NAIVE_FSYNC === '1' || e.NAIVE_FSYNC === 'true',
  };
}

async function declareQueues(ch: Channel, env: NaiveEnv): Promise<void> {
  const q = naiveQueues(env.namespace);
  for (const name of [q.incoming, q.processed]) {
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': env.queueType } });
  }
}

function startOps(env: NaiveEnv, registry: Registry, isReady: () => boolean): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    if (req.url === '/readyz') {
      const ok = isReady();
      res.writeHead(ok ? 200 : 503).end(ok ? 'ready\n' : 'not ready\n');
      return;
    }
    if (req.url === '/metrics') {
      void registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.opsPort, '127.0.0.1', () => resolve(server));
  });
}

/** Publish one persistent message and wait for its own confirm. */
function publishConfirmed(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  headers: Record<string, unknown>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ch.sendToQueue(queue, content, { persistent: true, headers }, (err: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error('nacked'));
        else resolve();
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

function fatal(role: string) {
  return (err: unknown) => {
    process.stderr.write(`naive ${role}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
}

function onSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

function watchConnection(model: ChannelModel, role: string, isStopping: () => boolean): void {
  model.on('error', (err: Error) => process.stderr.write(`naive ${role}: connection error ${err.message}\n`));
  model.on('close', () => {
    if (!isStopping()) fatal(role)(new Error('broker connection closed'));
  });
}

async function runReceiver(env: NaiveEnv): Promise<void> {
  const registry = new Registry();
  const received = new Counter({
    name: 'naive_receiver_events_received_total',
    help: 'Frames received.',
    registers: [registry],
  });
  const confirmed = new Counter({
    name: 'naive_receiver_events_confirmed_total',
    help: 'Messages confirmed by the broker.',
    registers: [registry],
  });
  const refused = new Counter({
    name: 'naive_receiver_events_refused_total',
    help: 'Messages nacked or failed (lost).',
    registers: [registry],
  });
  const { incoming } = naiveQueues(env.namespace);
  let stopping = false;
  const model = await connect(env.amqpUrl);
  watchConnection(model, env.role, () => stopping);
  const ch = await model.createConfirmChannel();
  await declareQueues(ch, env);

  const sockets = new Set<Socket>();
  let outstanding = 0;
  let paused = false;
  const setPaused = (p: boolean) => {
    if (p === paused) return;
    paused = p;
    for (const s of sockets)
      if (p) s.pause();
      else s.resume();
  };
  const publish = (frame: Buffer) => {
    received.inc();
    outstanding++;
    if (outstanding >= env.maxUnconfirmed) setPaused(true);
    void publishConfirmed(ch, incoming, frame, { r: env.id, t: Date.now() })
      .then(
        () => confirmed.inc(),
        () => refused.inc(),
      )
      .finally(() => {
        outstanding--;
        if (paused && outstanding <= env.maxUnconfirmed / 2) setPaused(false);
      });
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    if (paused) socket.pause();
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: 65536 });
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) publish(f);
      if (error !== null) socket.destroy();
    });
    socket.on('end', () => {
      const last = decoder.end();
      if (last) publish(last);
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.port, '127.0.0.1', () => resolve());
  });
  const ops = await startOps(env, registry, () => !stopping);
  onSignal(async () => {
    stopping = true;
    await new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) {
        s.resume();
        s.end();
      }
    });
    const deadline = Date.now() + 5000;
    while (outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await model.close().catch(() => undefined);
    ops.close();
  });
}

async function runDedup(env: NaiveEnv): Promise<void> {
  const registry = new Registry();
  const decided = new Counter({
    name: 'naive_dedup_events_total',
    help: 'Events decided.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const { incoming, processed } = naiveQueues(env.namespace);
  let stopping = false;
  let inflight = 0;
  const model = await connect(env.amqpUrl);
  watchConnection(model, env.role, () => stopping);
  const consumeCh = await model.createChannel();
  const publishCh = await model.createConfirmChannel();
  await declareQueues(consumeCh, env);
  await consumeCh.prefetch(env.prefetch);
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', (err: Error) => process.stderr.write(`naive dedup: redis ${err.message}\n`));

  const handle = async (msg: ConsumeMessage) => {
    inflight++;
    try {
      const id = createHash('sha256').update(msg.content).digest('hex').slice(0, 32);
      const isNew = (await redis.set(`${env.namespace}:naive:${id}`, '1', 'EX', 600, 'NX')) === 'OK';
      if (isNew) {
        const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
        await publishConfirmed(publishCh, processed, msg.content, { ...h, id });
      }
      decided.inc({ result: isNew ? 'unique' : 'duplicate' });
      consumeCh.ack(msg);
    } catch (err) {
      process.stderr.write(`naive dedup: ${(err as Error).message}; requeue\n`);
      consumeCh.nack(msg, false, true);
    } finally {
      inflight--;
    }
  };
  const { consumerTag } = await consumeCh.consume(incoming, (msg) => {
    if (msg) void handle(msg);
  });
  const ops = await startOps(env, registry, () => !stopping);
  onSignal(async () => {
    stopping = true;
    await consumeCh.cancel(consumerTag).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await model.close().catch(() => undefined);
    redis.disconnect();
    ops.close();
  });
}

async function runUploader(env: NaiveEnv): Promise<void> {
  if (!env.outFile) throw new Error('naive uploader: NAIVE_OUT_FILE is not set');
  const registry = new Registry();
  const written = new Counter({
    name: 'naive_uploader_events_written_total',
    help: 'Events appended.',
    registers: [registry],
  });
  const latency = new Histogram({
    name: NAIVE_LATENCY_METRIC,
    help: 'From receipt at the receiver to the append, per event.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const { processed } = naiveQueues(env.namespace);
  let stopping = false;
  let inflight = 0;
  const file = await open(env.outFile, 'a');
  const model = await connect(env.amqpUrl);
  watchConnection(model, env.role, () => stopping);
  const ch = await model.createChannel();
  await declareQueues(ch, env);
  await ch.prefetch(env.prefetch);

  const handle = async (msg: ConsumeMessage) => {
    inflight++;
    try {
      const h = (msg.properties.headers ?? {}) as { id?: unknown; r?: unknown; t?: unknown };
      const receivedAt = Number(h.t);
      const line =
        JSON.stringify({
          id: String(h.id),
          received_at: new Date(receivedAt).toISOString(),
          receiver: String(h.r),
          message: msg.content.toString('utf8'),
        }) + '\n';
      await file.write(line); // O_APPEND: each write lands whole at the end
      if (env.fsync) await file.datasync();
      latency.observe((Date.now() - receivedAt) / 1000);
      written.inc();
      ch.ack(msg);
    } catch (err) {
      process.stderr.write(`naive uploader: ${(err as Error).message}; requeue\n`);
      ch.nack(msg, false, true);
    } finally {
      inflight--;
    }
  };
  const { consumerTag } = await ch.consume(processed, (msg) => {
    if (msg) void handle(msg);
  });
  const ops = await startOps(env, registry, () => !stopping);
  onSignal(async () => {
    stopping = true;
    await ch.cancel(consumerTag).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await model.close().catch(() => undefined);
    await file.close();
    ops.close();
  });
}

const roles: Record<string, (env: NaiveEnv) => Promise<void>> = {
  receiver: runReceiver,
  dedup: runDedup,
  uploader: runUploader,
};

// Run as a process (not when imported by the bench driver for its names).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const role = process.argv[2] ?? '';
  const run = roles[role];
  if (!run) fatal('pipeline')(new Error(`unknown role "${role}" (receiver, dedup, uploader)`));
  else run(readEnv(role)).catch(fatal(role));
}
