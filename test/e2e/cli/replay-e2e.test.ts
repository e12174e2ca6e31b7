import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { encodeBody, encodeNewEventBatch, newBatchId, type NewEventBatch } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { runUploader, type RunningUploader } from '../../../uploader/run-uploader.js';
import { runWorker, type RunningWorker } from '../../../dedup-worker/run-worker.js';
import { runCli } from '../../support/cli-run.js';
import { SinkEmulator } from '../../support/http-sink-emulator.js';
import { AMQP_URL, REDIS_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';

/** Nothing listens here (the helper's private port range): the bulk sink's first address is wrong. */
const DEAD_PORT = 44_001;
const BATCHES = 20;
const PER_BATCH = 25;
const TOTAL = BATCHES * PER_BATCH;

type Line = Record<string, unknown> & { id: string };

/**
 * `fanin replay` against a real fleet on the real RabbitMQ and Redis: a dedup worker and the uploader with three
 * sinks. `search` (HTTP NDJSON) is pointed at a path that answers 404, so every batch is refused for good and goes to
 * `<ns>.dead`; `bulk` (HTTP _bulk) at a port where nothing listens, so after maxAttempts its batches go to the
 * secondary files; `archive` (file) works throughout. The worker dead-letters a batch that is no batch. The
 * configuration is then fixed and the uploader restarted; the CLI replays, and each sink holds every event once.
 */
describe('fanin replay, end to end', () => {
  const namespace = uniqueNamespace('replay');
  const names = topologyNames(namespace);
  const sinks = ['archive', 'search', 'bulk'];
  const dir = mkdtempSync(join(tmpdir(), 'fanin-replay-'));
  const secondaryDir = join(dir, 'secondary');
  const search = new SinkEmulator();
  const bulk = new SinkEmulator();
  let admin: ChannelModel;
  let publisher: ConfirmPublisher;
  let worker: RunningWorker | null = null;
  let uploader: RunningUploader | null = null;

  const env = (fixed: boolean): Record<string, string> => ({
    FANIN_NAMESPACE: namespace,
    FANIN_AMQP_URL: AMQP_URL,
    FANIN_REDIS_URL: REDIS_URL,
    FANIN_METRICS_HOST: '127.0.0.1',
    FANIN_METRICS_PORT: '0',
    FANIN_LOG_LEVEL: 'fatal',
    FANIN_UPLOADER_SECONDARY_DIR: secondaryDir,
    FANIN_SINKS: sinks.join(','),
    FANIN_SINK_DEFINITIONS: JSON.stringify({
      archive: { type: 'file', dir: join(dir, 'archive'), fsync: false },
      search: { type: 'http', mode: 'ndjson', url: search.url(fixed ? '/ingest' : '/broken') },
      bulk: {
        type: 'http',
        mode: 'bulk',
        url: fixed ? bulk.url('/es') : `http://127.0.0.1:${DEAD_PORT}/es`,
        maxAttempts: 2,
        timeoutMs: 2000,
      },
    }),
  });
  const depth = async (queue: string) => {
    const c = await admin.createChannel();
    const r = await c.checkQueue(queue);
    await c.close();
    return r.messageCount;
  };
  const readLines = (d: string): Line[] =>
    (existsSync(d) ? readdirSync(d) : [])
      .filter((f) => f.startsWith('events.') && f.endsWith('.ndjson'))
      .flatMap((f) =>
        readFileSync(join(d, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
      );
  const marks = () =>
    (existsSync(join(secondaryDir, 'bulk')) ? readdirSync(join(secondaryDir, 'bulk')) : []).filter((f) =>
      f.endsWith('.replayed'),
    );
  const replay = async (...args: string[]) => {
    const r = await runCli(['replay', ...args], env(true), 60_000);
    assert.equal(r.code, 0, `replay ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    if (process.env.REPLAY_TEST_SHOW)
      process.stderr.write(`$ fanin replay ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const newBatch = (seq: number, events: number): NewEventBatch => ({
    receiverId: 'a',
    bootId: 'replaytest',
    seq,
    keys: randomBytes(16 * events),
    bodies: Array.from({ length: events }, (_, i) =>
      encodeBody({
        tag: 'app.replay',
        time: null,
        received_at: Date.now(),
        receiver: 'a',
        source: '127.0.0.1',
        transport: 'tcp',
        format: 'raw',
        message: `event ${seq}/${i}`,
      }),
    ),
  });

  before(async () => {
    await search.start();
    await bulk.start();
    admin = await connect(AMQP_URL);
    const ch = await admin.createChannel();
    await declareTopology(ch, fleetTopology(namespace, sinks));
    await ch.close();
    publisher = new ConfirmPublisher();
    await publisher.attach(admin);
  });
  after(async () => {
    await uploader?.drain();
    await worker?.drain();
    await publisher.close();
    await admin.close().catch(() => undefined);
    await cleanupNamespace(namespace, sinks);
    await search.close();
    await bulk.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets batches aside, counts them in a dry run, and puts them back once: by sink, by reason, and into <ns>.new', async () => {
    worker = await runWorker(loadConfig({ env: env(false) }));
    uploader = await runUploader(loadConfig({ env: env(false) }));
    for (let seq = 0; seq < BATCHES; seq++) {
      const b = newBatch(seq, PER_BATCH);
      await publisher.publish(names.newExchange, encodeNewEventBatch(b), { messageId: newBatchId(b) });
    }
    await publisher.publish(names.newExchange, Buffer.from('not a batch'), { messageId: 'garbage' });

    await waitFor('the archive', () => (readLines(join(dir, 'archive')).length === TOTAL ? true : undefined), 60_000);
    await waitFor(
      "search's batches in <ns>.dead",
      async () => ((await depth(names.deadQueue)) === BATCHES + 1 ? true : undefined),
      60_000,
    );
    await waitFor(
      "bulk's secondary files",
      () => (readLines(join(secondaryDir, 'bulk')).length === TOTAL ? true : undefined),
      60_000,
    );
    await waitFor(
      'sink queues empty',
      async () =>
        (await depth(names.sinkQueue('search'))) + (await depth(names.sinkQueue('bulk'))) === 0 ? true : undefined,
      60_000,
    );
    assert.equal(search.ingested.size + bulk.documents.size, 0);

    // The cause is fixed: the right addresses, the uploader restarted.
    await uploader.drain();
    uploader = await runUploader(loadConfig({ env: env(true) }));

    const dry = await replay('--dry-run');
    assert.match(dry, /^replay --dry-run: nothing was moved/);
    assert.match(dry, new RegExp(`dead +search +refused +${BATCHES} +${TOTAL}\\n`));
    assert.match(dry, new RegExp(`secondary +bulk +secondary +\\d+ +${TOTAL}\\n`));
    assert.match(dry, new RegExp(`total: \\d+ batches, ${2 * TOTAL} events`));
    assert.match(
      dry,
      new RegExp(`from ${namespace.replace(/[.-]/g, '\\$&')}\\.new \\(--new replays it there\\) +1 +0`),
    );
    await waitFor(
      'the dry run returned every dead letter',
      async () => ((await depth(names.deadQueue)) === BATCHES + 1 ? true : undefined),
      10_000,
    );
    assert.deepEqual(marks(), [], 'a dry run marks no file');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(search.ingested.size + bulk.documents.size, 0, 'a dry run moves nothing');

    // Only search's dead letters: the secondary files and the worker's dead letter stay.
    const bySink = await replay('--sink', 'search');
    assert.match(bySink, /^replayed:/);
    assert.match(bySink, new RegExp(`dead +search +refused +${BATCHES} +${TOTAL}\\n`));
    assert.doesNotMatch(bySink, /secondary +bulk/);
    await waitFor('search has every event', () => (search.ingested.size === TOTAL ? true : undefined), 30_000);
    assert.equal(await depth(names.deadQueue), 1, "the worker's dead letter is left in place");
    assert.deepEqual(marks(), []);

    // Only the secondary files, by reason.
    const byReason = await replay('--reason', 'secondary');
    assert.match(byReason, new RegExp(`secondary +bulk +secondary +\\d+ +${TOTAL}\\n`));
    assert.doesNotMatch(byReason, /dead +search/);
    await waitFor('bulk has every event', () => (bulk.documents.size === TOTAL ? true : undefined), 30_000);
    const files = readdirSync(join(secondaryDir, 'bulk')).filter((f) => f.endsWith('.ndjson'));
    assert.deepEqual(marks().sort(), files.map((f) => `${f}.replayed`).sort());
    for (const f of files) {
      assert.equal(
        (JSON.parse(readFileSync(join(secondaryDir, 'bulk', `${f}.replayed`), 'utf8')) as { bytes: number }).bytes,
        statSync(join(secondaryDir, 'bulk', f)).size,
      );
    }

    // A run with nothing left to do replays nothing again.
    const again = await replay();
    assert.match(again, /total: 0 batches, 0 events/);
    assert.match(again, /--new replays it there\) +1/);

    // A batch an older worker could not decode (fabricated with a worker's headers): --new puts it back into <ns>.new.
    const late = newBatch(BATCHES, 5);
    await publisher.publish(names.deadExchange, encodeNewEventBatch(late), {
      messageId: newBatchId(late),
      headers: {
        'x-fanin-reason': 'new batch: unsupported version 3 with 6 fields',
        'x-fanin-stage': 'dedup-worker',
        'x-fanin-queue': names.newQueue,
      },
    });
    const withNew = await replay('--new');
    assert.match(withNew, new RegExp(`dead +${namespace.replace(/[.-]/g, '\\$&')}\\.new +undecodable +1 +5\\n`));
    assert.match(withNew, /does not decode \(new batch: not msgpack.*\) +1 +0/);
    await waitFor(
      'every sink has the late batch',
      () =>
        search.ingested.size === TOTAL + 5 &&
        bulk.documents.size === TOTAL + 5 &&
        readLines(join(dir, 'archive')).length === TOTAL + 5
          ? true
          : undefined,
      30_000,
    );
    await waitFor(
      'sink queues drained',
      async () =>
        (await depth(names.sinkQueue('search'))) +
          (await depth(names.sinkQueue('bulk'))) +
          (await depth(names.sinkQueue('archive'))) ===
        0
          ? true
          : undefined,
      30_000,
    );

    // Every event exactly once in every sink, by id, and the replayed ones as the archive wrote them.
    const archive = readLines(join(dir, 'archive'));
    const ids = new Set(archive.map((l) => l.id));
    assert.equal(ids.size, TOTAL + 5, 'the archive, never replayed into, has each event once');
    assert.deepEqual([...search.ingested.keys()].sort(), [...ids].sort());
    for (const [id, copies] of search.ingested) assert.equal(copies.length, 1, `search received ${id} once`);
    assert.equal(bulk.conflicts, 0, 'bulk was never sent an event twice');
    const bulkById = new Map([...bulk.documents.values()].map((d) => [String(d.id), d]));
    assert.deepEqual([...bulkById.keys()].sort(), [...ids].sort());
    for (const line of archive)
      assert.deepEqual(bulkById.get(line.id), line, `bulk's ${line.id} is the archive's line`);
    assert.equal(await depth(names.deadQueue), 1, 'only the batch that does not decode is left');
  });
});
