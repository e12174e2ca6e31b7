import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import { fanOutSend } from '../../../cli/send.js';
import { newQueueShards } from '../../../shared/amqp/topology.js';
import { LocalFleetProcess } from '../../support/local-fleet-process.js';
import { AMQP_URL, waitFor } from '../../../testkit/services.js';

const SHARDS = 4;

/** `fanin up` with FANIN_NEW_QUEUE_SHARDS: receivers spread batches over every shard, workers empty all of them. */
describe('a fleet on a sharded <ns>.new', () => {
  const fleet = new LocalFleetProcess();
  let conn: ChannelModel;
  before(async () => {
    // Small batches, so that a few thousand events make enough batches to reach every shard; a prefetch of 1, so
    // that stopped workers hold at most one batch per shard and the rest waits, visible, in the queues.
    await fleet.start({
      FANIN_NEW_QUEUE_SHARDS: String(SHARDS),
      FANIN_RECEIVER_BATCH_MAX_EVENTS: '50',
      FANIN_WORKER_PREFETCH: '1',
    });
    conn = await connect(AMQP_URL);
  });
  after(async () => {
    for (const pid of fleet.childPids('worker'))
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    await conn?.close().catch(() => undefined);
    await fleet.cleanup();
  });

  const depths = async () => {
    const ch = await conn.createChannel();
    try {
      return await Promise.all(
        newQueueShards(fleet.namespace, SHARDS).map(async (q) => (await ch.checkQueue(q)).messageCount),
      );
    } finally {
      await ch.close();
    }
  };

  it('publishes to every shard while the workers are stopped, then lands each event once from all of them', async () => {
    const workers = fleet.childPids('worker');
    assert.equal(workers.length, 2, 'fanin up runs two workers');
    for (const pid of workers) process.kill(pid, 'SIGSTOP');
    const runId = `shards-${randomBytes(3).toString('hex')}`;
    const count = 2000;
    const targets = [
      { host: '127.0.0.1', port: fleet.port(5514) },
      { host: '127.0.0.1', port: fleet.port(5515) },
    ];
    await fanOutSend({ targets, framing: 'octet', count, rate: 4000, message: 'sharded', runId });
    const held = await waitFor(
      'batches waiting in every shard',
      async () => {
        const d = await depths();
        return d.every((n) => n > 0) ? d : undefined;
      },
      15_000,
      200,
    );
    assert.equal(held.length, SHARDS);
    for (const pid of workers) process.kill(pid, 'SIGCONT');

    const lines = await waitFor(
      `${count} lines`,
      () => {
        const l = fleet.readOutput().filter((x) => x.message?.includes(`run=${runId} `) ?? false);
        return l.length >= count ? l : undefined;
      },
      60_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const final = fleet.readOutput().filter((x) => x.message?.includes(`run=${runId} `) ?? false);
    assert.equal(final.length, count, 'no event written twice');
    assert.equal(
      new Set(final.map((l) => /seq=(\d+)/.exec(l.message ?? '')?.[1])).size,
      count,
      'every sequence number once',
    );
    assert.equal(lines.length >= count, true);
    assert.deepEqual(
      await waitFor(
        'every shard empty',
        async () => {
          const d = await depths();
          return d.every((n) => n === 0) ? d : undefined;
        },
        15_000,
        200,
      ),
      Array(SHARDS).fill(0),
    );
  });
});
