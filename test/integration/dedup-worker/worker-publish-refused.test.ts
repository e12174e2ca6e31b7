import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'amqplib';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { decodeProcessedBatch, encodeBody, encodeNewEventBatch } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { runWorker } from '../../../dedup-worker/run-worker.js';
import { AMQP_URL, REDIS_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { freePort } from '../../../testkit/tcp-proxy.js';

const key = (s: string) => createHash('sha256').update(s).digest().subarray(0, 16);

/**
 * The broker refuses the worker's processed batch for a while (here: no sink queue bound, so every mandatory publish
 * comes back; in a cluster, a sink queue that lost its quorum). The batch must wait in the worker, unacknowledged,
 * and go out once when the broker takes it again: not bounce through `<ns>.new` until its delivery limit
 * dead-letters it.
 */
describe('dedup worker when the broker refuses its processed batches', () => {
  it(
    'keeps the batch unacknowledged and publishes it again after a backoff, without burning its delivery limit',
    { timeout: 60_000 },
    async () => {
      const conn = await connect(AMQP_URL);
      const namespace = uniqueNamespace('publish-refused');
      const names = topologyNames(namespace);
      const ch = await conn.createChannel();
      await declareTopology(ch, fleetTopology(namespace, ['file']));
      const metricsPort = await freePort();
      const worker = await runWorker(
        loadConfig({
          env: {
            FANIN_NAMESPACE: namespace,
            FANIN_REDIS_URL: REDIS_URL,
            FANIN_LOG_LEVEL: 'fatal',
            FANIN_METRICS_HOST: '127.0.0.1',
            FANIN_METRICS_PORT: String(metricsPort),
          },
        }),
      );
      const publisher = new ConfirmPublisher();
      try {
        await waitFor(
          'worker ready',
          async () => ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok ? true : undefined),
          15_000,
        );
        await ch.unbindQueue(names.sinkQueue('file'), names.processedExchange, '');
        await publisher.attach(conn);
        await publisher.publish(
          names.newExchange,
          encodeNewEventBatch({
            receiverId: 'a',
            bootId: 'refused',
            seq: 1,
            keys: key(`refused-${namespace}`),
            bodies: [
              encodeBody({
                tag: 't',
                time: null,
                received_at: Date.now(),
                receiver: 'a',
                source: null,
                transport: 'udp',
                format: 'raw',
                message: 'refused',
              }),
            ],
          }),
          { messageId: 'a:refused:1' },
        );
        const failures = async () => {
          const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          return Number(/^fanin_worker_publish_failures_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
        };
        await waitFor(
          'several refused publishes',
          async () => ((await failures()) >= 4 ? true : undefined),
          20_000,
          100,
        );
        await new Promise((r) => setTimeout(r, 3000));
        const newQueue = await ch.checkQueue(names.newQueue);
        assert.equal(newQueue.messageCount, 0, 'the batch is not back in <ns>.new: the worker holds it');
        assert.equal((await ch.checkQueue(names.deadQueue)).messageCount, 0, 'nothing dead-lettered');
        const refused = await failures();
        assert.ok(
          refused >= 4 && refused < 40,
          `retried with a backoff, not in a tight loop (${refused} attempts in ~5 s)`,
        );

        await ch.bindQueue(names.sinkQueue('file'), names.processedExchange, '');
        const msg = await waitFor(
          'the processed batch',
          async () => (await ch.get(names.sinkQueue('file'), { noAck: true })) || undefined,
          15_000,
        );
        assert.equal(msg.properties.messageId, 'a:refused:1');
        assert.equal(decodeProcessedBatch(msg.content).ids.length, 1);
        await waitFor(
          'the batch acked',
          async () => {
            const q = await ch.checkQueue(names.newQueue);
            return q.messageCount === 0 && q.consumerCount > 0 ? true : undefined;
          },
          5000,
        );
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await ch.get(names.sinkQueue('file'), { noAck: true }), false, 'published once');
      } finally {
        await publisher.close().catch(() => undefined);
        await worker.drain();
        await ch.close().catch(() => undefined);
        await conn.close().catch(() => undefined);
        await cleanupNamespace(namespace);
      }
    },
  );
});
