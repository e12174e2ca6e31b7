import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connect, type ChannelModel } from 'amqplib';
import pg from 'pg';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { encodeProcessedBatch, type ProcessedBatch } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { runUploader, type RunningUploader } from '../../../uploader/run-uploader.js';
import { SinkEmulator } from '../../support/http-sink-emulator.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { forwardEvent, processedBatch } from '../../../testkit/sink-fixtures.js';
import { POSTGRES_URL } from '../../support/postgres.js';

/**
 * The real uploader with three named sinks (a gzipping file sink, PostgreSQL with daily partitions, an
 * Elasticsearch-style bulk endpoint), on the real RabbitMQ and PostgreSQL: each sink has its own queue and gets
 * every event; a replay of the same processed batches adds nothing to the idempotent sinks.
 */
describe('named sinks through the real uploader', () => {
  const namespace = uniqueNamespace('named');
  const sinks = ['archive', 'pg', 'search'];
  const table = `t_named_${namespace.slice(-8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'fanin-named-'));
  const emu = new SinkEmulator();
  let admin: ChannelModel;
  let db: pg.Client;
  let uploader: RunningUploader | null = null;

  before(async () => {
    await emu.start();
    admin = await connect(AMQP_URL);
    const ch = await admin.createChannel();
    await declareTopology(ch, fleetTopology(namespace, sinks));
    await ch.close();
    db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
  });
  after(async () => {
    await uploader?.drain();
    await admin.close().catch(() => undefined);
    await cleanupNamespace(namespace, sinks);
    await db.query(`DROP TABLE IF EXISTS "${table}" CASCADE`);
    await db.query(`DROP TABLE IF EXISTS "${table}_rejected"`);
    await db.query('DELETE FROM fanin_schema_migrations WHERE table_name = $1', [table]);
    await db.end();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every event to every named sink, and a replay adds nothing to PostgreSQL or the bulk index', async () => {
    const config = loadConfig({
      env: {
        FANIN_NAMESPACE: namespace,
        FANIN_AMQP_URL: AMQP_URL,
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: '0',
        FANIN_LOG_LEVEL: 'warn',
        FANIN_UPLOADER_SECONDARY_DIR: join(dir, 'secondary'),
        FANIN_SINKS: sinks.join(','),
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          archive: { type: 'file', dir: join(dir, 'archive'), gzip: true, maxBytes: 65536, batchSize: 4 },
          pg: {
            type: 'postgres',
            url: POSTGRES_URL,
            table,
            partitioning: 'daily',
            retentionDays: 30,
            prefetch: 32,
            batchSize: 16,
          },
          search: { type: 'http', mode: 'bulk', url: emu.url('/es'), concurrency: 2 },
        }),
      },
    });
    uploader = await runUploader(config);
    const publisher = new ConfirmPublisher();
    await publisher.attach(admin);
    const names = topologyNames(namespace);
    const now = Date.now();
    const batches: ProcessedBatch[] = Array.from({ length: 30 }, (_, i) =>
      processedBatch(`${namespace}-b${i}`, 50, now, i % 3 === 0 ? forwardEvent : undefined),
    );
    const publishAll = async () => {
      for (const b of batches)
        await publisher.publish(names.processedExchange, encodeProcessedBatch(b), { messageId: b.sourceBatchId });
    };
    await publishAll();
    const total = 1500;
    const rows = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]!.n);
    const fileIds = () =>
      readdirSync(join(dir, 'archive'))
        .filter((f) => f.startsWith('events.') && !f.endsWith('.tmp'))
        .flatMap((f) => {
          const raw = readFileSync(join(dir, 'archive', f));
          return (f.endsWith('.gz') ? gunzipSync(raw) : raw)
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => (JSON.parse(l) as { id: string }).id);
        });
    await waitFor('PostgreSQL rows', async () => ((await rows().catch(() => 0)) === total ? true : undefined), 30_000);
    await waitFor('bulk documents', () => (emu.documents.size === total ? true : undefined), 30_000);
    await waitFor('archive lines', () => (fileIds().length === total ? true : undefined), 30_000);
    assert.equal(new Set(fileIds()).size, total);
    assert.equal(
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${table}" WHERE record @> '{"user": {"plan": "pro"}}'`,
          )
        ).rows[0]!.n,
      ),
      500,
    );

    await publishAll();
    await waitFor('archive lines after the replay', () => (fileIds().length === 2 * total ? true : undefined), 30_000);
    // (The HTTP sink remembers the batches it delivered and skips them; a fresh uploader would get 409s instead.)
    const depth = async (q: string) => {
      const c = await admin.createChannel();
      const r = await c.checkQueue(q);
      await c.close();
      return r.messageCount;
    };
    await waitFor(
      'sink queues empty',
      async () =>
        (await depth(names.sinkQueue('pg'))) + (await depth(names.sinkQueue('search'))) === 0 ? true : undefined,
      30_000,
    );
    await uploader.drain();
    uploader = null;
    for (const s of sinks) assert.equal(await depth(names.sinkQueue(s)), 0, `${s}: everything acked`);
    assert.equal(await rows(), total, 'the replay added no row');
    assert.equal(emu.documents.size, total, 'the replay added no document');
    await publisher.close();
  });
});
