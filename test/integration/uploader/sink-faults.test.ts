import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { encodeBody, encodeProcessedBatch, type ProcessedBatch } from '../../../shared/batch-codec.js';
import { FileSink } from '../../../uploader/file-sink/file-sink.js';
import { PermanentSinkError, type Sink, type SinkWriteResult } from '../../../uploader/sink.js';
import { SinkConsumer } from '../../../uploader/sink-consumer.js';
import { createUploaderMetrics } from '../../../uploader/uploader-metrics.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';

const envelope = (message: string) => ({
  tag: 'test',
  time: null,
  received_at: Date.now(),
  receiver: 'a',
  source: null,
  transport: 'udp',
  format: 'raw',
  message,
});
const batch = (id: string, messages: string[]): ProcessedBatch => ({
  sourceBatchId: id,
  ids: messages.map((m) => `${m}-1`),
  bodies: messages.map((m) => encodeBody(envelope(m))),
});
const linesIn = (dir: string) =>
  (existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir) : [])
    .filter((f) => f.startsWith('events.'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { message: string }).message),
    );

/** fanin_uploader_write_failures_total of the file sink (0 before the first failure). */
async function failuresCounted(registry: Registry): Promise<number> {
  const m = /sink="file"\} (\d+)/.exec(await registry.getSingleMetricAsString('fanin_uploader_write_failures_total'));
  return m ? Number(m[1]) : 0;
}

/** Refuses batches whose source id says "poison" for good: a write that retrying cannot fix. */
class PickySink implements Sink {
  readonly name = 'file';
  constructor(private readonly inner: FileSink) {}
  write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    if (batches.some((b) => b.sourceBatchId.includes('poison')))
      return Promise.reject(new PermanentSinkError('constraint violated'));
    return this.inner.write(batches);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('sink faults, against the real RabbitMQ', () => {
  let conn: ChannelModel;
  const namespaces: string[] = [];
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'fanin-sinkfault-'));
    dirs.push(d);
    return d;
  };
  before(async () => {
    conn = await connect(AMQP_URL);
  });
  after(async () => {
    await conn.close().catch(() => undefined);
    for (const ns of namespaces) await cleanupNamespace(ns);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const setup = async (sink: Sink, secondary: Sink | null, maxAttempts: number) => {
    const namespace = uniqueNamespace('sinkfault');
    namespaces.push(namespace);
    const names = topologyNames(namespace);
    const ch = await conn.createChannel();
    await declareTopology(ch, fleetTopology(namespace, ['file']));
    await ch.close();
    const registry = new Registry();
    const metrics = createUploaderMetrics(registry);
    const dead = new ConfirmPublisher();
    await dead.attach(conn);
    const consumer = new SinkConsumer(
      sink,
      dead,
      {
        queue: names.sinkQueue('file'),
        deadExchange: names.deadExchange,
        prefetch: 8,
        flushIntervalMs: 5,
        maxAttempts,
        secondary,
      },
      metrics,
      pino({ level: 'silent' }),
    );
    await consumer.attach(conn);
    const publisher = new ConfirmPublisher();
    await publisher.attach(conn);
    const publish = (b: ProcessedBatch) =>
      publisher.publish(names.processedExchange, encodeProcessedBatch(b), { messageId: b.sourceBatchId });
    const queueDepth = async () => {
      const c = await conn.createChannel();
      const q = await c.checkQueue(names.sinkQueue('file'));
      await c.close();
      return q.messageCount;
    };
    return {
      names,
      registry,
      consumer,
      publish,
      queueDepth,
      close: async () => {
        await consumer.drain();
        await dead.close();
        await publisher.close();
      },
    };
  };

  it('retries a failing sink with backoff and writes everything once it recovers, acking only then', async () => {
    const base = tmp();
    const dir = join(base, 'out');
    writeFileSync(dir, 'a file where the directory should be'); // every write fails: ENOTDIR/EEXIST
    const t = await setup(new FileSink({ dir, fsync: true }), null, 100);
    await t.publish(batch('b1', ['r1', 'r2']));
    // Retries back off with full jitter, so a count is only ever seen at least as large as asked, never exactly.
    await waitFor(
      'failures counted',
      async () => ((await failuresCounted(t.registry)) >= 2 ? true : undefined),
      10_000,
    );
    assert.equal(linesIn(dir).length, 0);
    rmSync(dir);
    await waitFor('lines written after recovery', () => (linesIn(dir).length === 2 ? true : undefined), 15_000);
    assert.deepEqual(linesIn(dir).sort(), ['r1', 'r2']);
    await waitFor('acked', async () => ((await t.queueDepth()) === 0 ? true : undefined));
    await t.close();
  });

  it('sends batches to the secondary after the configured number of failures', async () => {
    const base = tmp();
    const dir = join(base, 'out');
    writeFileSync(dir, 'blocked for good');
    const secondaryDir = join(base, 'secondary');
    const t = await setup(new FileSink({ dir, fsync: true }), new FileSink({ dir: secondaryDir, fsync: true }), 2);
    await t.publish(batch('b2', ['s1', 's2', 's3']));
    await waitFor('secondary written', () => (linesIn(secondaryDir).length === 3 ? true : undefined), 15_000);
    // The lines are readable before the secondary's write (and its fsync) resolves and is counted.
    await waitFor(
      'secondary counted',
      async () =>
        /sink="file"} 3/.test(await t.registry.getSingleMetricAsString('fanin_uploader_secondary_events_total'))
          ? true
          : undefined,
      5000,
    );
    await waitFor('acked', async () => ((await t.queueDepth()) === 0 ? true : undefined));
    await t.close();
  });

  it('dead-letters a batch the sink refuses for good, with the reason, and writes its neighbours', async () => {
    const dir = join(tmp(), 'out');
    const t = await setup(new PickySink(new FileSink({ dir, fsync: false })), null, 3);
    await t.publish(batch('good-1', ['g1']));
    await t.publish(batch('poison-1', ['p1']));
    await t.publish(batch('good-2', ['g2']));
    await waitFor('good lines written', () => (linesIn(dir).length === 2 ? true : undefined), 10_000);
    const ch = await conn.createChannel();
    const dead = await waitFor(
      'dead letter',
      async () => (await ch.get(t.names.deadQueue, { noAck: true })) || undefined,
      10_000,
    );
    assert.equal(dead.properties.messageId, 'poison-1');
    assert.match(String((dead.properties.headers as Record<string, unknown>)['x-fanin-reason']), /constraint violated/);
    await ch.close();
    assert.deepEqual(linesIn(dir).sort(), ['g1', 'g2']);
    await t.close();
  });
});
