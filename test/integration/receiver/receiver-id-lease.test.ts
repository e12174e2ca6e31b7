import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'amqplib';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { leaseQueueName, ReceiverIdInUseError, ReceiverIdLease } from '../../../receiver/receiver-id-lease.js';
import { ConfigError } from '../../../shared/config/config-error.js';
import { AMQP_URL, uniqueNamespace, waitFor } from '../../../testkit/services.js';
import { TcpProxy } from '../../../testkit/tcp-proxy.js';

const log = pino({ level: 'silent' });

/** The lease on its own, against the real RabbitMQ: the cases a process test cannot time (a drain, a broker away). */
describe('receiver id lease', () => {
  const namespace = uniqueNamespace('lease');
  const leases: ReceiverIdLease[] = [];
  const lease = (bootId: string, amqpUrl = AMQP_URL) => {
    const gauge = new Gauge({ name: 'fanin_receiver_id_conflict', help: 'test', registers: [new Registry()] });
    const l = new ReceiverIdLease({ amqpUrl, namespace, receiverId: 'x', bootId, drainTimeoutMs: 10_000 }, gauge, log);
    leases.push(l);
    return { lease: l, gauge };
  };
  const gaugeValue = async (g: Gauge) => (await g.get()).values[0]?.value;
  // Lease queues are exclusive: closing the connections removes everything the tests declared.
  after(async () => {
    await Promise.all(leases.map((l) => l.close()));
  });

  it('a second lease on a live holder is refused at once with a ConfigError naming the id and namespace', async () => {
    const first = lease('one').lease;
    assert.equal(await first.start(), 'held');
    const t0 = Date.now();
    const err = await lease('two')
      .lease.start()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(err instanceof ReceiverIdInUseError);
    assert.ok(err instanceof ConfigError, 'the CLI maps it to exit code 78');
    assert.match(err.message, new RegExp(`receiver\\.id "x" is already in use in namespace "${namespace}"`));
    assert.ok(Date.now() - t0 < 5000, `refused after ${Date.now() - t0} ms`);
    await first.close();
  });

  it('waits for a holder that is draining and takes the lease when it exits', async () => {
    const draining = lease('old').lease;
    assert.equal(await draining.start(), 'held');
    draining.startDraining();
    const next = lease('new').lease;
    let settled = false;
    const started = next.start().finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(settled, false, 'still waiting while the holder drains');
    await draining.close();
    assert.equal(await started, 'held');
    await next.close();
  });

  it('starts unchecked at once when the broker is unreachable, and takes the lease once it answers', async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(AMQP_URL).port || 5672));
    await proxy.start();
    const port = proxy.port;
    await proxy.cut();
    const url = new URL(AMQP_URL);
    url.port = String(port);
    const { lease: away, gauge } = lease('away', url.toString());
    const t0 = Date.now();
    assert.equal(await away.start(), 'unchecked');
    assert.ok(Date.now() - t0 < 2000, `no wait for an unreachable broker (${Date.now() - t0} ms)`);
    try {
      await proxy.start(port);
      // Only `away` can hold it: a passive declare from another connection then fails with RESOURCE_LOCKED.
      const conn = await connect(AMQP_URL);
      try {
        await waitFor(
          'the lease taken once the broker answers',
          async () => {
            const ch = await conn.createChannel();
            ch.on('error', () => undefined);
            return ch.checkQueue(leaseQueueName(namespace, 'x')).then(
              () => undefined,
              (e: { code?: number }) => (e.code === 405 ? true : undefined),
            );
          },
          15_000,
          200,
        );
      } finally {
        await conn.close();
      }
      assert.equal(await gaugeValue(gauge), 0);
    } finally {
      await away.close();
      await proxy.cut();
    }
  });
});
