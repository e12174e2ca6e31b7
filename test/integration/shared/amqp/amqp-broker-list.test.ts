import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { connect, type ChannelModel } from 'amqplib';
import { pino } from 'pino';
import { checkDependencies } from '../../../../cli/preflight.js';
import { BrokerSession } from '../../../../shared/amqp/broker-session.js';
import { FailoverConnection } from '../../../../shared/amqp/failover-connection.js';
import { fleetTopology } from '../../../../shared/amqp/topology.js';
import { freePorts } from '../../../../testkit/free-ports.js';
import { AMQP_URL, cleanupNamespace, REDIS_URL, uniqueNamespace } from '../../../../testkit/services.js';

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { log: pino.Logger; lines: { level: number; msg: string; [k: string]: unknown }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** `p`, or a rejection naming what did not happen in time; the timer never outlives the test. */
async function within<T>(ms: number, what: string | (() => string), p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no ${typeof what === 'string' ? what : what()} within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A URL of the shared broker with a password that must never be logged, and one where nothing listens. */
async function urls(): Promise<{ live: string; dead: string }> {
  const [deadPort] = await freePorts(1);
  const dead = new URL(AMQP_URL);
  dead.port = String(deadPort);
  return { live: AMQP_URL, dead: dead.toString() };
}

describe('a broker list on one live broker', () => {
  const namespace = uniqueNamespace('amqplist');
  after(async () => {
    await cleanupNamespace(namespace);
  });

  it('skips a node that is down, whatever the shuffled order, and names it without its password', async () => {
    const { live, dead } = await urls();
    for (const random of [() => 0, () => 0.99]) {
      const failed: string[] = [];
      const conn = new FailoverConnection(
        {
          urls: [dead, live],
          connectionName: 'fanin test broker list',
          backoff: { initialDelayMs: 20, maxDelayMs: 100 },
        },
        random,
      );
      conn.on('connect-failed', (_err, url) => failed.push(url));
      conn.start();
      const [, url] = await within(10_000, 'connect', once(conn, 'connect') as Promise<[ChannelModel, string]>);
      assert.equal(new URL(url).port, new URL(live).port);
      assert.ok(
        failed.every((u) => new URL(u).port === new URL(dead).port && !u.includes(':guest@')),
        JSON.stringify(failed),
      );
      assert.ok(conn.currentUrl);
      await conn.close();
    }
  });

  it('keeps a queue declared earlier without x-quorum-initial-group-size, warns once, and declares the rest', async () => {
    const admin = await connect(AMQP_URL);
    const ch = await admin.createChannel();
    // What an older fanin declared: no group size.
    await ch.assertQueue(`${namespace}.new`, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': `${namespace}.dead`, 'x-delivery-limit': 50 },
    });
    const { log, lines } = capturedLogger();
    const session = new BrokerSession(
      `${(await urls()).dead},${AMQP_URL}`,
      fleetTopology(namespace, ['file'], 3),
      log,
      'fanin test group size',
    );
    try {
      const ready = once(session, 'ready');
      await session.start();
      await within(15_000, () => `session ready; logged ${JSON.stringify(lines)}`, ready);
      const kept = lines.filter((l) => l.msg.includes('another x-quorum-initial-group-size'));
      assert.equal(kept.length, 1, JSON.stringify(lines));
      assert.equal(kept[0]!.queue, `${namespace}.new`);
      // The other queues are new: they got the group size, which a declare with another value now refuses.
      const probe = await admin.createChannel();
      probe.on('error', () => undefined);
      await assert.rejects(
        probe.assertQueue(`${namespace}.sink.file`, {
          durable: true,
          arguments: {
            'x-queue-type': 'quorum',
            'x-dead-letter-exchange': `${namespace}.dead`,
            'x-delivery-limit': 50,
            'x-quorum-initial-group-size': 2,
          },
        }),
        /inequivalent arg 'x-quorum-initial-group-size'.*current is '3'/,
      );
      assert.ok(
        lines.every((l) => !JSON.stringify(l).includes(':guest@')),
        'a log line shows a password',
      );
    } finally {
      await session.close();
      await admin.close().catch(() => undefined);
    }
  });

  it("lets fanin up's preflight pass when one node of the list answers, and names each node when none does", async () => {
    const { live, dead } = await urls();
    assert.deepEqual(await checkDependencies(`${dead},${live}`, REDIS_URL), []);
    const [otherDead] = await freePorts(1);
    const problems = await checkDependencies(`${dead},amqp://guest:guest@127.0.0.1:${otherDead}`, REDIS_URL);
    assert.equal(problems.length, 2, JSON.stringify(problems));
    for (const p of problems)
      assert.match(
        p,
        /cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: nothing listens there \(ECONNREFUSED\)/,
      );
  });
});
