import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { pino } from 'pino';
import { ConfirmPublisher } from '../../../../shared/amqp/confirm-publisher.js';
import {
  QueueConsumer,
  type Delivery,
  type DeliveryHandler,
  type QueueConsumerOptions,
} from '../../../../shared/amqp/queue-consumer.js';
import { AMQP_URL, waitFor } from '../../../../testkit/services.js';

const log = pino({ level: 'silent' });

/** The shared queue consumer on the real RabbitMQ: settling, dead letters, a closed channel, a drain. */
describe('QueueConsumer (real RabbitMQ)', () => {
  const prefix = `t-qc-${randomBytes(4).toString('hex')}`;
  const deadExchange = `${prefix}.dead`;
  const deadQueue = `${prefix}.dead`;
  const queues: string[] = [deadQueue];
  let admin: ChannelModel;
  let adminChannel: Channel;
  const cleanup: (() => Promise<void>)[] = [];
  let n = 0;

  before(async () => {
    admin = await connect(AMQP_URL);
    adminChannel = await admin.createChannel();
    await adminChannel.assertExchange(deadExchange, 'fanout', { durable: false, autoDelete: false });
    await adminChannel.assertQueue(deadQueue, { durable: false });
    await adminChannel.bindQueue(deadQueue, deadExchange, '');
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  after(async () => {
    for (const q of queues) await adminChannel.deleteQueue(q).catch(() => undefined);
    await adminChannel.deleteExchange(deadExchange).catch(() => undefined);
    await admin.close().catch(() => undefined);
  });

  /** A fresh queue of this run, with `messages` in it (message ids m0, m1, … unless given). */
  const queueWith = async (messages: { body: string; messageId?: string | null }[]) => {
    const queue = `${prefix}.q${n++}`;
    queues.push(queue);
    await adminChannel.assertQueue(queue, { durable: false });
    messages.forEach((m, i) => {
      const messageId = m.messageId === null ? undefined : (m.messageId ?? `m${i}`);
      adminChannel.sendToQueue(queue, Buffer.from(m.body), messageId === undefined ? {} : { messageId });
    });
    await waitFor(
      'messages queued',
      async () => ((await adminChannel.checkQueue(queue)).messageCount === messages.length ? true : undefined),
      5000,
      10,
    );
    return queue;
  };
  const depth = async (queue: string) => (await adminChannel.checkQueue(queue)).messageCount;

  /** A consumer on a connection of its own, with a dead-letter publisher on the same connection. */
  const start = async (queue: string, handler: DeliveryHandler, over: Partial<QueueConsumerOptions> = {}) => {
    const conn = await connect(AMQP_URL);
    const publisher = new ConfirmPublisher();
    await publisher.attach(conn);
    const deadLettered: string[] = [];
    const consumer = new QueueConsumer(
      {
        queue,
        prefetch: 10,
        log,
        deadLetter: {
          publisher,
          exchange: deadExchange,
          stage: 'test-stage',
          logMessage: 'test dead letter',
          onDeadLettered: () => deadLettered.push('x'),
        },
        reopenBackoff: { initialDelayMs: 20, maxDelayMs: 100 },
        ...over,
      },
      handler,
    );
    const events: string[] = [];
    consumer.on('consuming', () => events.push('consuming'));
    consumer.on('detached', () => events.push('detached'));
    cleanup.push(async () => {
      await consumer.close();
      await publisher.close();
      await conn.close().catch(() => undefined);
    });
    await consumer.attach(conn);
    return { consumer, conn, publisher, deadLettered, events };
  };
  const takeDead = async (): Promise<GetMessage> =>
    waitFor('a dead letter', async () => (await adminChannel.get(deadQueue, { noAck: true })) || undefined, 5000, 20);

  it('acks, requeues (redelivered) and dead-letters with the reason, stage and queue in headers', async () => {
    const queue = await queueWith([{ body: 'ok' }, { body: 'again' }, { body: 'poison' }]);
    const seen: string[] = [];
    const { deadLettered } = await start(queue, async (d) => {
      const body = d.content.toString();
      seen.push(`${body}${d.message.fields.redelivered ? '*' : ''}`);
      if (body === 'poison') await d.deadLetter('cannot decode: bad magic');
      else if (body === 'again' && !d.message.fields.redelivered) d.requeue();
      else d.ack();
    });
    await waitFor(
      'all settled',
      async () => (seen.length === 4 && (await depth(queue)) === 0 ? true : undefined),
      5000,
      20,
    );
    assert.deepEqual(seen.sort(), ['again', 'again*', 'ok', 'poison']);
    const dead = await takeDead();
    assert.equal(dead.content.toString(), 'poison');
    assert.equal(dead.properties.messageId, 'm2', 'the dead letter keeps the message id');
    assert.deepEqual(dead.properties.headers, {
      'x-fanin-reason': 'cannot decode: bad magic',
      'x-fanin-stage': 'test-stage',
      'x-fanin-queue': queue,
    });
    assert.equal(dead.properties.deliveryMode, 2, 'persistent');
    assert.deepEqual(deadLettered, ['x'], 'counted once, after the confirm');
  });

  it('names a dead letter without a message id dead-<time>, and requeues it when the dead letter is not confirmed', async () => {
    const queue = await queueWith([{ body: 'anonymous', messageId: null }]);
    const before = Date.now();
    const { deadLettered } = await start(queue, (d) => d.deadLetter('no id'));
    const dead = await takeDead();
    assert.match(String(dead.properties.messageId), /^dead-\d+$/);
    assert.ok(Number(String(dead.properties.messageId).slice(5)) >= before);
    assert.equal(deadLettered.length, 1);

    const queue2 = await queueWith([]);
    let deliveries = 0;
    const { publisher } = await start(queue2, async (d) => {
      deliveries++;
      if (deliveries === 1) {
        await publisher.close();
        await d.deadLetter('publisher gone');
      } else d.ack();
    });
    adminChannel.sendToQueue(queue2, Buffer.from('unlucky'), { messageId: 'u1' });
    await waitFor(
      'redelivered and acked',
      async () => (deliveries === 2 && (await depth(queue2)) === 0 ? true : undefined),
      5000,
      20,
    );
  });

  it('reopens a channel that closed under a live connection; settling a delivery of the dead channel does nothing', async () => {
    const queue = await queueWith([{ body: 'first' }]);
    const held: Delivery[] = [];
    const { consumer, events } = await start(queue, (d) => {
      held.push(d);
      if (held.length > 1) d.ack();
    });
    await waitFor('first delivery', () => (held.length === 1 ? true : undefined), 5000, 10);
    assert.equal(consumer.inflightCount, 1);
    await held[0]!.channel.close();
    await waitFor('redelivered on a reopened channel', () => (held.length === 2 ? true : undefined), 5000, 10);
    assert.equal(held[1]!.message.fields.redelivered, true);
    assert.notEqual(held[1]!.channel, held[0]!.channel);
    held[0]!.ack(); // its channel is gone: must neither throw nor touch the new channel
    await waitFor(
      'acked on the new channel',
      async () => ((await depth(queue)) === 0 && consumer.inflightCount === 0 ? true : undefined),
      5000,
      20,
    );
    assert.deepEqual(events, ['consuming', 'detached', 'consuming']);
    assert.equal(consumer.consuming, true);
    adminChannel.sendToQueue(queue, Buffer.from('later'));
    await waitFor('a later message consumed too', () => (held.length === 3 ? true : undefined), 5000, 10);
  });

  it('detaches on a lost connection and consumes again once attached to a new one', async () => {
    const queue = await queueWith([]);
    const got: string[] = [];
    const { consumer, conn, events } = await start(queue, (d) => {
      got.push(d.content.toString());
      d.ack();
    });
    await conn.close();
    consumer.detach(); // what the broker session's 'lost' does
    assert.equal(consumer.consuming, false);
    adminChannel.sendToQueue(queue, Buffer.from('while away'));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(got, [], 'nothing consumed while detached (no reopen without a connection)');
    const conn2 = await connect(AMQP_URL);
    cleanup.push(() => conn2.close().catch(() => undefined));
    await consumer.attach(conn2);
    await waitFor('consumed after the reattach', () => (got.length === 1 ? true : undefined), 5000, 10);
    assert.equal(events.filter((e) => e === 'consuming').length, 2);
  });

  it('holds while mayConsume says no, and pause/resume stop and restart consuming on the same channel', async () => {
    const queue = await queueWith([{ body: 'one' }]);
    let allowed = false;
    const got: string[] = [];
    const { consumer } = await start(
      queue,
      (d) => {
        got.push(d.content.toString());
        d.ack();
      },
      { mayConsume: () => allowed },
    );
    assert.equal(consumer.attached, true);
    assert.equal(consumer.consuming, false);
    await consumer.resume();
    assert.equal(consumer.consuming, false, 'resume respects mayConsume');
    allowed = true;
    await consumer.resume();
    await waitFor('consumed', () => (got.length === 1 ? true : undefined), 5000, 10);
    assert.equal(await consumer.pause(), true);
    assert.equal(await consumer.pause(), false, 'pausing twice reports it was not consuming');
    adminChannel.sendToQueue(queue, Buffer.from('two'));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(got, ['one']);
    assert.equal(await depth(queue), 1);
    await consumer.resume();
    await waitFor('consumed after resume', () => (got.length === 2 ? true : undefined), 5000, 10);
  });

  it('drain waits for what is in flight and acks it; past its timeout it closes and the rest goes back to the queue', async () => {
    const queue = await queueWith([{ body: 'slow' }]);
    let finished = false;
    const { consumer } = await start(queue, async (d) => {
      await new Promise((r) => setTimeout(r, 300));
      finished = true;
      d.ack();
    });
    await waitFor('in flight', () => (consumer.inflightCount === 1 ? true : undefined), 5000, 10);
    const t0 = Date.now();
    await consumer.drain(5000);
    assert.ok(finished, 'drain returned only after the handler settled');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(consumer.consuming, false);
    await waitFor('acked, not requeued', async () => ((await depth(queue)) === 0 ? true : undefined), 2000, 20);

    const queue2 = await queueWith([{ body: 'stuck' }]);
    const { consumer: stuck } = await start(queue2, () => undefined); // never settles
    await waitFor('in flight', () => (stuck.inflightCount === 1 ? true : undefined), 5000, 10);
    const t1 = Date.now();
    await stuck.drain(200);
    const took = Date.now() - t1;
    assert.ok(took >= 190 && took < 2000, `drain bounded by its timeout: ${took} ms`);
    await waitFor('back in the queue', async () => ((await depth(queue2)) === 1 ? true : undefined), 5000, 20);
  });

  it('returns a delivery to the queue when its handler throws, instead of leaving it in flight', async () => {
    const queue = await queueWith([{ body: 'boom' }]);
    let calls = 0;
    const { consumer } = await start(queue, (d) => {
      calls++;
      if (calls === 1) throw new Error('bug');
      d.ack();
    });
    await waitFor(
      'redelivered and acked',
      async () => (calls === 2 && (await depth(queue)) === 0 && consumer.inflightCount === 0 ? true : undefined),
      5000,
      20,
    );
  });
});
