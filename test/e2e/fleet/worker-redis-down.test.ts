import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { PrivateRedis } from '../../../chaos/private-redis.js';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { decodeBody, decodeProcessedBatch, encodeBody, encodeNewEventBatch } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { runWorker, type RunningWorker } from '../../../dedup-worker/run-worker.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { freePort } from '../../../testkit/tcp-proxy.js';

const key = (s: string) => createHash('sha256').update(s).digest().subarray(0, 16);

/** Redis unreachable (a port nothing listens on): the worker holds by default, or passes through when asked to. */
describe('dedup worker with Redis down, against the real RabbitMQ', () => {
  let conn: ChannelModel;
  const namespaces: string[] = [];
  const workers: RunningWorker[] = [];
  before(async () => {
    conn = await connect(AMQP_URL);
  });
  after(async () => {
    for (const w of workers) await w.drain();
    await conn.close().catch(() => undefined);
    for (const ns of namespaces) await cleanupNamespace(ns);
  });

  const setup = async (mode: 'hold' | 'pass-through') => {
    const namespace = uniqueNamespace(`redisdown-${mode}`);
    namespaces.push(namespace);
    const names = topologyNames(namespace);
    const ch = await conn.createChannel();
    await declareTopology(ch, fleetTopology(namespace, ['file']));
    await ch.close();
    const metricsPort = await freePort();
    const worker = await runWorker(
      loadConfig({
        env: {
          FANIN_NAMESPACE: namespace,
          FANIN_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
          FANIN_LOG_LEVEL: 'fatal',
          FANIN_METRICS_HOST: '127.0.0.1',
          FANIN_METRICS_PORT: String(metricsPort),
          FANIN_WORKER_REDIS_DOWN_MODE: mode,
        },
      }),
    );
    workers.push(worker);
    const publisher = new ConfirmPublisher();
    await publisher.attach(conn);
    const lines = ['one', 'two'];
    await publisher.publish(
      names.newExchange,
      encodeNewEventBatch({
        receiverId: 'a',
        bootId: 'b',
        seq: 1,
        keys: Buffer.concat(lines.map(key)),
        bodies: lines.map((m) =>
          encodeBody({
            tag: 't',
            time: null,
            received_at: Date.now(),
            receiver: 'a',
            source: null,
            transport: 'udp',
            format: 'raw',
            message: m,
          }),
        ),
      }),
      { messageId: 'a:b:1' },
    );
    await publisher.close();
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return { names, metrics };
  };

  it('holds by default: does not consume, the batch waits in RabbitMQ, holding = 1', async () => {
    const t = await setup('hold');
    await new Promise((r) => setTimeout(r, 1500));
    const ch = await conn.createChannel();
    assert.equal((await ch.checkQueue(t.names.newQueue)).messageCount, 1);
    assert.equal((await ch.checkQueue(t.names.sinkQueue('file'))).messageCount, 0);
    await ch.close();
    assert.match(await t.metrics(), /fanin_worker_holding\{[^}]*\} 1/);
  });

  it('passes through when configured: every event published with its occurrence-1 id, flagged dedup: skipped', async () => {
    const t = await setup('pass-through');
    const ch = await conn.createChannel();
    const msg = await waitFor(
      'processed batch',
      async () => (await ch.get(t.names.sinkQueue('file'), { noAck: true })) || undefined,
      10_000,
    );
    await ch.close();
    const processed = decodeProcessedBatch(msg.content);
    assert.deepEqual(
      processed.ids,
      ['one', 'two'].map((m) => `${key(m).toString('hex')}-1`),
    );
    const envelopes = processed.bodies.map((b) => decodeBody(b) as { message: string; dedup: string });
    assert.deepEqual(
      envelopes.map((e) => [e.message, e.dedup]),
      [
        ['one', 'skipped'],
        ['two', 'skipped'],
      ],
    );
    assert.match(await t.metrics(), /fanin_worker_pass_through_events_total\{[^}]*\} 2/);
  });
});

/** Redis refusing writes (out of memory under noeviction) keeps the connection: the worker must probe and resume. */
describe('dedup worker when Redis refuses writes without disconnecting', () => {
  it('holds while Redis is out of memory and resumes on its own once writes succeed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-redis-oom-'));
    const redisServer = await PrivateRedis.create(dir);
    await redisServer.start();
    const admin = new Redis(redisServer.url);
    const conn = await connect(AMQP_URL);
    const namespace = uniqueNamespace('redis-oom');
    const names = topologyNames(namespace);
    const ch = await conn.createChannel();
    await declareTopology(ch, fleetTopology(namespace, ['file']));
    const worker = await runWorker(
      loadConfig({
        env: {
          FANIN_NAMESPACE: namespace,
          FANIN_REDIS_URL: redisServer.url,
          FANIN_LOG_LEVEL: 'fatal',
          FANIN_METRICS_HOST: '127.0.0.1',
          FANIN_METRICS_PORT: String(await freePort()),
        },
      }),
    );
    try {
      await admin.config('SET', 'maxmemory', '1');
      const publisher = new ConfirmPublisher();
      await publisher.attach(conn);
      const publish = (seq: number) =>
        publisher.publish(
          names.newExchange,
          encodeNewEventBatch({
            receiverId: 'a',
            bootId: 'oom',
            seq,
            keys: key(`oom-${seq}`),
            bodies: [
              encodeBody({
                tag: 't',
                time: null,
                received_at: Date.now(),
                receiver: 'a',
                source: null,
                transport: 'udp',
                format: 'raw',
                message: `oom-${seq}`,
              }),
            ],
          }),
          { messageId: `a:oom:${seq}` },
        );
      await publish(1);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(
        (await ch.checkQueue(names.sinkQueue('file'))).messageCount,
        0,
        'nothing decided while Redis refuses writes',
      );
      await admin.config('SET', 'maxmemory', '0');
      await waitFor(
        'worker resumed and published',
        async () => ((await ch.checkQueue(names.sinkQueue('file'))).messageCount >= 1 ? true : undefined),
        15_000,
      );
      await publisher.close();
    } finally {
      await worker.drain();
      await ch.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
      admin.disconnect();
      await redisServer.kill();
      await cleanupNamespace(namespace);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
