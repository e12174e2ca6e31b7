import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { answerHolderQuestions } from '../../../receiver/receiver-id-holder.js';
import { leaseQueueName } from '../../../receiver/receiver-id-lease.js';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { AMQP_URL, waitFor } from '../../../testkit/services.js';
import { openTcp } from '../../support/sockets.js';
import { TcpProxy } from '../../../testkit/tcp-proxy.js';

function note(what: string, ms: number): void {
  process.stdout.write(`# ${what}: ${ms} ms\n`);
}

/**
 * After a network cut a running receiver must never stop for its id lease: the lease may still be held by its own
 * previous connection (the broker has not noticed it is gone) or by a second receiver that took the id meanwhile.
 * It keeps publishing, retries in the background, and raises fanin_receiver_id_conflict only for a live other.
 */
describe('receiver id lease after a reconnect', () => {
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(AMQP_URL).port || 5672));
  let receiver: InProcessReceiver;
  let conn: ChannelModel;
  let queue = '';

  before(async () => {
    await proxy.start();
    const proxied = new URL(AMQP_URL);
    proxied.port = String(proxy.port);
    receiver = await InProcessReceiver.start({ FANIN_AMQP_URL: proxied.toString(), FANIN_RECEIVER_ID: 'r1' });
    queue = leaseQueueName(receiver.namespace, 'r1');
    conn = await connect(AMQP_URL);
    assert.equal(await leaseHeldElsewhere(), true, 'the receiver holds its lease');
  });

  after(async () => {
    await proxy.start(proxy.port).catch(() => undefined); // already listening unless a test failed mid-cut
    await receiver.stop();
    await proxy.cut();
    await conn.close().catch(() => undefined);
  });

  /** True when a connection other than the test's holds the lease (a passive declare fails with RESOURCE_LOCKED). */
  const leaseHeldElsewhere = async (): Promise<boolean> => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.checkQueue(queue);
      await ch.close();
      return false;
    } catch (err) {
      if ((err as { code?: number }).code === 405) return true;
      if ((err as { code?: number }).code === 404) return false;
      throw err;
    }
  };

  /** Takes the lease on a connection of the test's own, once the broker has dropped the receiver's. */
  const takeLease = async (): Promise<{ holder: ChannelModel; channel: Channel }> => {
    const holder = await connect(AMQP_URL);
    const channel = await waitFor(
      'the lease free',
      async () => {
        const ch = await holder.createChannel();
        ch.on('error', () => undefined);
        return ch.assertQueue(queue, { exclusive: true, durable: false }).then(
          () => ch,
          () => undefined,
        );
      },
      5000,
      50,
    );
    return { holder, channel };
  };

  const conflict = async () => {
    const line = (await receiver.metricsText()).split('\n').find((l) => l.startsWith('fanin_receiver_id_conflict{'));
    assert.ok(line, 'fanin_receiver_id_conflict is exported');
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  const sendLines = async (marker: string, count: number) => {
    const socket = await openTcp(receiver.ports.syslog);
    for (let i = 0; i < count; i++) socket.write(`<13>1 2026-12-07T00:00:00Z h app - - - ${marker} ${i}\n`);
    await new Promise<void>((r) => socket.end(() => r()));
    assert.equal((await receiver.settled(marker, count)).length, count, `${marker}: every line published once`);
  };

  it('its own lingering connection holds the lease after a cut: no alarm, it keeps working, and takes the lease back', async () => {
    await proxy.cut();
    // Stands in for the receiver's previous connection that the broker has not dropped yet: holds, never answers.
    const stale = await takeLease();
    await proxy.start(proxy.port);
    await sendLines('stale-held', 50);
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      samples.push(await conflict());
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual([...new Set(samples)], [0], 'no conflict raised while the holder may be our own dead connection');
    const releasedAt = Date.now();
    await stale.holder.close();
    await waitFor(
      'the receiver took its lease back',
      async () => ((await leaseHeldElsewhere()) ? true : undefined),
      10_000,
      50,
    );
    note('lease taken back after the lingering connection went', Date.now() - releasedAt);
    assert.equal(await conflict(), 0);
  });

  it('another live receiver took the id during a cut: conflict gauge 1 while it holds it, publishing goes on, 0 after it goes', async () => {
    await proxy.cut();
    const other = await takeLease();
    await answerHolderQuestions(other.channel, queue, () => ({
      receiverId: 'r1',
      bootId: 'feedfacecafe',
      host: 'other-host',
      pid: 4242,
      startedAt: new Date().toISOString(),
      draining: false,
    }));
    const restoredAt = Date.now();
    await proxy.start(proxy.port);
    await waitFor('conflict gauge 1', async () => ((await conflict()) === 1 ? true : undefined), 20_000, 100);
    note('conflict raised after the broker became reachable again', Date.now() - restoredAt);
    await sendLines('during-conflict', 50);
    assert.equal(await conflict(), 1, 'still in conflict while the other holds the id');
    const releasedAt = Date.now();
    await other.holder.close();
    await waitFor('conflict gauge back to 0', async () => ((await conflict()) === 0 ? true : undefined), 10_000, 50);
    note('conflict cleared after the other receiver went', Date.now() - releasedAt);
    assert.equal(await leaseHeldElsewhere(), true, 'the receiver holds its lease again');
    await sendLines('after-conflict', 10);
  });
});
