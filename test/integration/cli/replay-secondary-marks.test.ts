import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { replaySecondaryFiles, type SecondaryReplayOptions } from '../../../cli/replay/secondary-replay.js';
import { ReplayTally } from '../../../cli/replay/replay-tally.js';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { decodeBody, decodeProcessedBatch } from '../../../shared/batch-codec.js';
import type { EventEnvelope } from '../../../shared/envelope.js';
import { formatEventLine } from '../../../uploader/ndjson/ndjson-line.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace } from '../../../testkit/services.js';

const line = (n: number) =>
  formatEventLine(`id-${n}`, {
    tag: 'app',
    time: null,
    received_at: 1_700_000_000_000 + n,
    receiver: 'a',
    source: null,
    transport: 'udp',
    format: 'raw',
    message: `m${n}`,
  });

/**
 * The marks of secondary files against the real RabbitMQ: a file is read up to its last complete line, marked only
 * after its batches are confirmed, and a later replay takes only what was appended since (the uploader may still
 * hold the file open). A line that is no event is counted with its place and skipped.
 */
describe('replay of secondary files: marks', () => {
  const namespace = uniqueNamespace('replaymarks');
  const names = topologyNames(namespace);
  const dir = mkdtempSync(join(tmpdir(), 'fanin-replaymarks-'));
  const sinkDir = join(dir, 'pg');
  const file = join(sinkDir, 'events.2023-11-14-22.ndjson');
  let admin: ChannelModel;
  before(async () => {
    admin = await connect(AMQP_URL);
    const ch = await admin.createChannel();
    await declareTopology(ch, fleetTopology(namespace, ['pg']));
    await ch.close();
    mkdirSync(sinkDir);
  });
  after(async () => {
    await admin.close().catch(() => undefined);
    await cleanupNamespace(namespace, ['pg']);
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (dryRun: boolean): SecondaryReplayOptions => ({
    sinks: [{ sink: 'pg', dir: sinkDir, queue: names.sinkQueue('pg') }],
    dryRun,
    window: 4,
    batchEvents: 3,
    keepGoing: () => true,
  });
  /** The events now in the sink's queue, taken off it, with the batch each came in. */
  const queued = async () => {
    const ch = await admin.createChannel();
    const out: { batch: string; id: string; message: string }[] = [];
    for (
      let msg = await ch.get(names.sinkQueue('pg'), { noAck: true });
      msg;
      msg = await ch.get(names.sinkQueue('pg'), { noAck: true })
    ) {
      const b = decodeProcessedBatch(msg.content);
      assert.equal(msg.properties.messageId, b.sourceBatchId);
      b.ids.forEach((id, i) =>
        out.push({ batch: b.sourceBatchId, id, message: String((decodeBody(b.bodies[i]!) as EventEnvelope).message) }),
      );
    }
    await ch.close();
    return out;
  };

  it('replays complete lines once, marks after the confirms, and takes only appended lines the next time', async () => {
    writeFileSync(file, line(1) + line(2) + 'not json\n' + line(3) + line(4) + '{"id":"id-5","tag":"ap'); // the last line is still being written
    writeFileSync(
      join(sinkDir, 'rejected.ndjson'),
      '{"id":"r-1","reason":"not an event envelope","body_base64":"AA=="}\n',
    );

    const dry = new ReplayTally(true);
    await replaySecondaryFiles(admin, options(true), dry);
    assert.equal(dry.eventsReplayed, 4);
    assert.throws(() => readFileSync(`${file}.replayed`), /ENOENT/, 'a dry run writes no mark');
    assert.deepEqual(await queued(), []);

    const first = new ReplayTally(false);
    await replaySecondaryFiles(admin, options(false), first);
    const got = await queued();
    assert.deepEqual(
      got.map((e) => e.id),
      ['id-1', 'id-2', 'id-3', 'id-4'],
    );
    assert.deepEqual(
      got.map((e) => e.message),
      ['m1', 'm2', 'm3', 'm4'],
    );
    assert.equal(new Set(got.map((e) => e.batch)).size, 2, 'batches of at most batchEvents (3) events');
    assert.equal(first.badLineCount, 1);
    assert.match(first.badLines[0]!, /events\.2023-11-14-22\.ndjson@\d+: not JSON/);
    assert.match(first.summary(), /rejected\.ndjson: bodies that are no event envelope/);
    const complete = statSync(file).size - '{"id":"id-5","tag":"ap'.length;
    assert.equal(
      (JSON.parse(readFileSync(`${file}.replayed`, 'utf8')) as { bytes: number }).bytes,
      complete,
      'marked up to the last complete line',
    );

    // The rest of line 5 arrives, then line 6: only they go.
    appendFileSync(
      file,
      'p","time":null,"received_at":"2023-11-14T22:13:20.005Z","receiver":"a","source":null,"transport":"udp","format":"raw","message":"m5"}\n' +
        line(6),
    );
    await replaySecondaryFiles(admin, options(false), new ReplayTally(false));
    assert.deepEqual(
      (await queued()).map((e) => e.message),
      ['m5', 'm6'],
    );
    assert.equal(
      (JSON.parse(readFileSync(`${file}.replayed`, 'utf8')) as { bytes: number }).bytes,
      statSync(file).size,
    );

    const idle = new ReplayTally(false);
    await replaySecondaryFiles(admin, options(false), idle);
    assert.equal(idle.eventsReplayed, 0, 'a fully marked file is not replayed again');
    assert.deepEqual(await queued(), []);
  });
});
