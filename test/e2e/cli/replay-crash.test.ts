import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { declareTopology, fleetTopology, topologyNames } from '../../../shared/amqp/topology.js';
import { encodeBody, encodeProcessedBatch } from '../../../shared/batch-codec.js';
import { CliProcess, runCli } from '../../support/cli-run.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../../testkit/services.js';

const SELECTED = 1000;
const OTHERS = 20;

/**
 * `fanin replay` killed (SIGKILL) in the middle of a pass over `<ns>.dead`, then run again: every selected batch
 * reaches its sink's queue at least once, a few at most twice (published and confirmed, not yet acked at the kill),
 * and none of the batches it was told to leave goes anywhere but `<ns>.dead`.
 */
describe('fanin replay killed mid-pass', () => {
  const namespace = uniqueNamespace('replaycrash');
  const names = topologyNames(namespace);
  const sinks = ['a', 'b'];
  let admin: ChannelModel;
  let ch: ConfirmChannel;
  const env = {
    FANIN_NAMESPACE: namespace,
    FANIN_AMQP_URL: AMQP_URL,
    FANIN_SINKS: sinks.join(','),
    FANIN_UPLOADER_SECONDARY_DIR: '',
    FANIN_SINK_DEFINITIONS: JSON.stringify({
      a: { type: 'stdout' },
      b: { type: 'file', dir: '/nonexistent/never-written' },
    }),
  };
  before(async () => {
    admin = await connect(AMQP_URL);
    ch = await admin.createConfirmChannel();
    await declareTopology(ch, fleetTopology(namespace, sinks));
  });
  after(async () => {
    await admin.close().catch(() => undefined);
    await cleanupNamespace(namespace, sinks);
  });

  /** Every message of the queue, taken off it: its message ids. */
  const drainIds = async (queue: string): Promise<string[]> => {
    const c = await admin.createChannel();
    const ids: string[] = [];
    for (let msg = await c.get(queue, { noAck: true }); msg; msg = await c.get(queue, { noAck: true }))
      ids.push(String(msg.properties.messageId));
    await c.close();
    return ids;
  };
  const depth = async (queue: string) => (await ch.checkQueue(queue)).messageCount;

  it('replays every selected batch at least once across the kill, and leaves the others in <ns>.dead', async () => {
    for (let i = 0; i < SELECTED + OTHERS; i++) {
      const sink = i < SELECTED ? 'a' : 'b';
      const batch = {
        sourceBatchId: `${sink}${i}`,
        ids: [`e${i}-1`],
        bodies: [
          encodeBody({
            tag: 't',
            time: null,
            received_at: i,
            receiver: 'r',
            source: null,
            transport: 'udp',
            format: 'raw',
            message: `m${i}`,
          }),
        ],
      };
      // Interleaved, as dead letters of several sinks come.
      ch.publish(names.deadExchange, '', encodeProcessedBatch(batch), {
        persistent: true,
        messageId: batch.sourceBatchId,
        headers: {
          'x-fanin-reason': `sink ${sink}: HTTP 400: bad request`,
          'x-fanin-stage': `uploader:${sink}`,
          'x-fanin-queue': names.sinkQueue(sink),
        },
      });
    }
    await ch.waitForConfirms();

    // A window of one: each batch waits for its confirm, so the pass takes long enough to be cut.
    const first = new CliProcess(['replay', '--sink', 'a', '--prefetch', '1'], env);
    await waitFor(
      'the replay under way',
      async () => ((await depth(names.sinkQueue('a'))) >= 100 ? true : undefined),
      30_000,
      10,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const cut = await depth(names.sinkQueue('a'));
    assert.ok(cut < SELECTED, `killed mid-pass (${cut} of ${SELECTED} replayed)`);

    const second = await runCli(['replay', '--sink', 'a'], env, 60_000);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /dead +a +refused +\d+ +\d+\n/);

    const replayed = await drainIds(names.sinkQueue('a'));
    if (process.env.REPLAY_TEST_SHOW)
      process.stderr.write(`killed after ${cut} batches; ${replayed.length - SELECTED} repeated\n${second.stdout}\n`);
    const expected = Array.from({ length: SELECTED }, (_, i) => `a${i}`);
    assert.deepEqual([...new Set(replayed)].sort(), expected.sort(), 'every selected batch reached its queue');
    assert.ok(
      replayed.length - SELECTED <= 2,
      `at most the batch in flight at the kill twice (${replayed.length - SELECTED} repeats)`,
    );
    assert.equal(await depth(names.sinkQueue('b')), 0, 'nothing went to the sink that was not selected');
    const left = await drainIds(names.deadQueue);
    assert.deepEqual(
      [...new Set(left)].sort(),
      Array.from({ length: OTHERS }, (_, i) => `b${SELECTED + i}`).sort(),
      '<ns>.dead holds exactly the batches not selected',
    );
  });
});
