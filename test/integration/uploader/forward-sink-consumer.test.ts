import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { Registry } from 'prom-client';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { encodeProcessedBatch, type ProcessedBatch } from '../../../shared/batch-codec.js';
import { createLogger } from '../../../shared/logger.js';
import { buildChunks } from '../../../uploader/forward-sink/forward-entries.js';
import { forwardSinkOptionsFromConfig } from '../../../uploader/forward-sink/forward-sink-config.js';
import { ForwardSink } from '../../../uploader/forward-sink/forward-sink.js';
import { SinkConsumer } from '../../../uploader/sink-consumer.js';
import { createUploaderMetrics } from '../../../uploader/uploader-metrics.js';
import { batchOf, forwardEnvelope, metric, sinkSettings, syslogEnvelope } from '../../support/forward-fixtures.js';
import { ScriptedForwardServer, type ScriptedServerOptions } from '../../support/scripted-forward-server.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';

const log = createLogger('test', 'forward-sink-consumer', 'silent');

/**
 * The forward sink behind the uploader's SinkConsumer, on the real RabbitMQ: the AMQP delivery of a processed
 * batch must stay unacknowledged until the aggregator acknowledged every chunk of it.
 */
describe('forward sink through the uploader consumer (real RabbitMQ)', () => {
  const namespace = uniqueNamespace('fwdsink');
  const names = topologyNames(namespace);
  const queue = names.sinkQueue('forward');
  let admin: ChannelModel;
  let adminChannel: Channel;
  let publisher: ConfirmChannel;
  const cleanup: (() => Promise<void>)[] = [];

  before(async () => {
    admin = await connect(AMQP_URL);
    adminChannel = await admin.createChannel();
    await declareTopology(adminChannel, fleetTopology(namespace, ['forward']));
    publisher = await admin.createConfirmChannel();
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  after(async () => {
    await admin.close().catch(() => undefined);
    await cleanupNamespace(namespace, ['forward']);
  });

  const publish = async (batches: ProcessedBatch[]) => {
    for (const b of batches)
      publisher.sendToQueue(queue, encodeProcessedBatch(b), { messageId: b.sourceBatchId, persistent: true });
    await publisher.waitForConfirms();
  };
  const readyCount = async () => (await adminChannel.checkQueue(queue)).messageCount;

  /** A consumer on its own connection, whose channel records every ack it sends to RabbitMQ. */
  const startConsumer = async (agg: ScriptedForwardServer, over: Parameters<typeof sinkSettings>[1]) => {
    const registry = new Registry();
    const sink = new ForwardSink(
      forwardSinkOptionsFromConfig(sinkSettings(`127.0.0.1:${agg.port}`, over)),
      registry,
      log,
    );
    const conn = await connect(AMQP_URL);
    const amqpAcks = new Map<string, number>();
    const model = {
      createChannel: async () => {
        const ch = await conn.createChannel();
        const ack = ch.ack.bind(ch);
        ch.ack = (msg, allUpTo) => {
          amqpAcks.set(String(msg.properties.messageId), Date.now());
          ack(msg, allUpTo);
        };
        return ch;
      },
    } as unknown as ChannelModel;
    const consumer = new SinkConsumer(
      sink,
      new ConfirmPublisher(),
      { queue, deadExchange: names.deadExchange, prefetch: 16, flushIntervalMs: 5, maxAttempts: 8, secondary: null },
      createUploaderMetrics(registry),
      log,
    );
    await consumer.attach(model);
    return { consumer, conn, registry, amqpAcks };
  };
  const server = async (options: ScriptedServerOptions) => {
    const s = await new ScriptedForwardServer(options).start();
    cleanup.push(() => s.close());
    return s;
  };

  const batches = (run: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      batchOf(`${run}:${i}`, [
        [`${run}-s${i}`, syslogEnvelope({ message: `line ${i}` })],
        [`${run}-f${i}`, forwardEnvelope({ i })],
        [`${run}-g${i}`, forwardEnvelope({ i, other: true }, { tag: 'app.other' })],
      ]),
    );

  it('acks each delivery only after the aggregator acked its chunks, resending the chunks whose ack was dropped', async () => {
    // The aggregator drops the first ack of every chunk: every chunk must be resent, nothing lost.
    const agg = await server({ ack: (_chunk, n) => (n === 0 ? 'drop' : 'ack') });
    const { consumer, conn, registry, amqpAcks } = await startConsumer(agg, {
      forwardSinkAckResponseTimeoutMs: 300,
      forwardSinkUpAfterHeartbeats: 1,
    });
    cleanup.push(async () => {
      await consumer.drain();
      await conn.close().catch(() => undefined);
    });
    const sent = batches('drop', 5);
    await publish(sent);

    await waitFor('every delivery acked', () => (amqpAcks.size === sent.length ? true : undefined), 20_000, 20);
    const ids = new Set(agg.messages.filter((m) => m.acked).flatMap((m) => m.events.map((e) => e.record.fanin_id)));
    assert.equal(ids.size, 15, 'every event reached the aggregator in an acknowledged chunk');
    for (const b of sent) {
      const ackedAt = amqpAcks.get(b.sourceBatchId)!;
      for (const c of buildChunks([b], 'fanin_id')) {
        const aggAck = agg.messages.find((m) => m.option.chunk === c.chunkId && m.acked);
        assert.ok(aggAck, `chunk ${c.chunkId} of ${b.sourceBatchId} acknowledged by the aggregator`);
        assert.ok(aggAck.ackedAt! <= ackedAt, 'the AMQP ack follows the aggregator ack');
        const copies = agg.messages.filter((m) => m.option.chunk === c.chunkId);
        assert.ok(copies.length >= 2 && !copies[0]!.acked, 'first send dropped, resent with the same chunk id');
      }
    }
    const chunks = buildChunks(sent, 'fanin_id').length;
    assert.ok((await metric(registry, 'fanin_uploader_forward_resends_total')) >= chunks, 'every resend counted');
    assert.ok((await metric(registry, 'fanin_uploader_forward_ack_timeouts_total')) >= 1);
    assert.ok(
      (await metric(registry, 'fanin_uploader_write_failures_total', { sink: 'forward' })) >= 1,
      'the failed write was retried by the consumer',
    );
    assert.equal(await metric(registry, 'fanin_uploader_events_written_total', { sink: 'forward' }), 15);

    await consumer.drain();
    await conn.close();
    assert.equal(await readyCount(), 0, 'nothing went back to the queue: every ack reached RabbitMQ');
  });

  it('leaves deliveries unacknowledged while the aggregator withholds its ack', async () => {
    const agg = await server({ ack: () => 'hold' });
    const { consumer, conn, amqpAcks } = await startConsumer(agg, { forwardSinkAckResponseTimeoutMs: 30_000 });
    const sent = batches('hold', 3);
    await publish(sent);
    // The consumer may write the batches in one call or (under load) the first alone: the later ones then wait,
    // delivered but unwritten, behind the write the aggregator does not ack. Either way none may be acked.
    await waitFor('chunks at the aggregator, unacknowledged', () => (agg.heldCount > 0 ? true : undefined), 10_000, 20);
    await waitFor(
      'all batches delivered to the uploader',
      async () => ((await readyCount()) === 0 ? true : undefined),
      10_000,
      20,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(amqpAcks.size, 0);

    // The uploader dies before the aggregator's ack: RabbitMQ must still have every batch.
    await conn.close();
    await waitFor(
      'batches back in the queue',
      async () => ((await readyCount()) === sent.length ? true : undefined),
      10_000,
      50,
    );
    agg.releaseHeld();
    await consumer.drain(); // its write completes, but the dead channel acks nothing
    assert.equal(amqpAcks.size, 0);
    await adminChannel.purgeQueue(queue);
  });
});
