// The worker's decision flow for one delivered batch (decode → dedup store → publish unique events → confirm → mark
// published → ack) with a scripted store and publisher in place of Redis and RabbitMQ: which calls happen, in which
// order, and how every path settles the delivery. The store's script itself is tested on a real Redis
// (test/integration/dedup-worker/dedup-store.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ConsumeMessage } from 'amqplib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { PublishError } from '../../../shared/amqp/confirm-publisher.js';
import { Delivery } from '../../../shared/amqp/queue-consumer.js';
import { decodeProcessedBatch, encodeNewEventBatch, type NewEventBatch } from '../../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../../shared/event-key.js';
import { BatchDecider } from '../../../dedup-worker/batch-decider.js';
import type { PartitionDecision } from '../../../dedup-worker/batch-decision.js';
import type { DedupStore } from '../../../dedup-worker/dedup-store.js';
import type { RedisDownMode } from '../../../dedup-worker/redis-hold.js';
import { createWorkerMetrics } from '../../../dedup-worker/worker-metrics.js';

const silent = pino({ level: 'silent' });

function batch(events: number): NewEventBatch {
  const keys = Buffer.alloc(events * EVENT_KEY_BYTES);
  for (let i = 0; i < events; i++) keys[i * EVENT_KEY_BYTES] = i + 1;
  return {
    receiverId: 'r1',
    bootId: 'boot',
    seq: 7,
    keys,
    bodies: Array.from({ length: events }, (_, i) => Buffer.from(`event-${i}`)),
  };
}

const decision = (occurrences: number[], over: Partial<PartitionDecision> = {}): PartitionDecision => ({
  partition: 0,
  indices: occurrences.map((_, i) => i),
  occurrences,
  reused: false,
  published: false,
  chunkResends: 0,
  ...over,
});

/** Records every call of the flow in one list, so the order of store, publisher and delivery calls can be asserted. */
class Scene {
  readonly calls: string[] = [];
  readonly published: { exchange: string; body: Buffer; messageId: string }[] = [];
  live = true;
  ready = true;
  /** Publishes to refuse before the publisher confirms. */
  refusals = 0;
  redisFailures: string[] = [];

  constructor(private readonly decisions: () => PartitionDecision[]) {}

  decider(mode: RedisDownMode = 'hold'): BatchDecider {
    const store = {
      decide: () =>
        Promise.resolve().then(() => {
          this.calls.push('decide');
          return this.decisions();
        }),
      markPublished: () => {
        this.calls.push('markPublished');
        return Promise.resolve();
      },
    } as unknown as DedupStore;
    const isReady = () => this.ready;
    const publisher = {
      get ready() {
        return isReady();
      },
      publish: async (exchange: string, body: Buffer, o: { messageId: string }) => {
        this.calls.push('publish');
        this.published.push({ exchange, body, messageId: o.messageId });
        await new Promise((r) => setImmediate(r));
        if (this.refusals > 0) {
          this.refusals--;
          this.calls.push('nacked');
          throw new PublishError('NACKED', 'nacked');
        }
        this.calls.push('confirmed');
      },
    } as unknown as ConfirmPublisher;
    return new BatchDecider(
      { processedExchange: 'ns.processed', redisDownMode: mode, dedupWindowSeconds: 3600 },
      {
        store,
        publisher,
        metrics: createWorkerMetrics(new Registry()),
        log: silent,
        onRedisFailed: (reason) => {
          this.redisFailures.push(reason);
        },
      },
    );
  }

  delivery(content: Buffer): Delivery {
    const settler = {
      settle: (_d: Delivery, outcome: string) => {
        this.calls.push(outcome);
      },
      isLive: () => this.live,
      deadLetter: (_d: Delivery, reason: string) => {
        this.calls.push(`deadLetter: ${reason}`);
        return Promise.resolve();
      },
    };
    return new Delivery({ content } as ConsumeMessage, {} as Channel, settler);
  }
}

describe('batch decider', () => {
  it('publishes the unique events with the batch id, waits for the confirm, marks the batch published, then acks', async () => {
    const scene = new Scene(() => [decision([1, 0, 2])]);
    await scene.decider().handle(scene.delivery(encodeNewEventBatch(batch(3))));
    assert.deepEqual(scene.calls, ['decide', 'publish', 'confirmed', 'markPublished', 'ack']);
    const [sent] = scene.published;
    assert.equal(sent!.exchange, 'ns.processed');
    assert.equal(sent!.messageId, 'r1:boot:7');
    const processed = decodeProcessedBatch(sent!.body);
    assert.equal(processed.sourceBatchId, 'r1:boot:7');
    assert.deepEqual(
      processed.bodies.map((b) => Buffer.from(b).toString()),
      ['event-0', 'event-2'],
      'the duplicate (occurrence 0) is left out',
    );
    assert.equal(processed.ids.length, 2);
    assert.match(processed.ids[1]!, /-2$/, 'an id carries the occurrence number');
  });

  it('acks a batch every partition already published without publishing or marking it again', async () => {
    const scene = new Scene(() => [decision([1, 1], { reused: true, published: true })]);
    await scene.decider().handle(scene.delivery(encodeNewEventBatch(batch(2))));
    assert.deepEqual(scene.calls, ['decide', 'ack']);
  });

  it('publishes nothing for a batch of duplicates, but still marks it and acks', async () => {
    const scene = new Scene(() => [decision([0, 0])]);
    await scene.decider().handle(scene.delivery(encodeNewEventBatch(batch(2))));
    assert.deepEqual(scene.calls, ['decide', 'markPublished', 'ack']);
  });

  it('dead-letters an undecodable batch with the decode error as the reason, before asking the store', async () => {
    const scene = new Scene(() => [decision([1])]);
    await scene.decider().handle(scene.delivery(Buffer.from([0x93, 0x01, 0x02, 0x03])));
    assert.equal(scene.calls.length, 1);
    assert.match(scene.calls[0]!, /^deadLetter: new batch:/);
  });

  it('hold: a failed dedup script returns the batch to the queue and tells the worker to stop taking batches', async () => {
    const scene = new Scene(() => {
      throw new Error('ECONNREFUSED');
    });
    await scene.decider('hold').handle(scene.delivery(encodeNewEventBatch(batch(2))));
    assert.deepEqual(scene.calls, ['decide', 'requeue']);
    assert.deepEqual(scene.redisFailures, ['redis unavailable']);
  });

  it('pass-through: a failed dedup script publishes every event undeduplicated and acks after the confirm', async () => {
    const scene = new Scene(() => {
      throw new Error('ECONNREFUSED');
    });
    await scene.decider('pass-through').handle(scene.delivery(encodeNewEventBatch(batch(3))));
    assert.deepEqual(scene.calls, ['decide', 'publish', 'confirmed', 'ack']);
    assert.equal(decodeProcessedBatch(scene.published[0]!.body).bodies.length, 3);
    assert.deepEqual(scene.redisFailures, []);
  });

  it('publishes a refused batch again in place, with the same message id, and acks only after the confirm', async () => {
    const scene = new Scene(() => [decision([1, 1])]);
    scene.refusals = 1;
    await scene.decider().handle(scene.delivery(encodeNewEventBatch(batch(2))));
    assert.deepEqual(scene.calls, ['decide', 'publish', 'nacked', 'publish', 'confirmed', 'markPublished', 'ack']);
    assert.deepEqual(
      scene.published.map((p) => p.messageId),
      ['r1:boot:7', 'r1:boot:7'],
    );
  });

  it('returns the batch to the queue instead of retrying once the delivery is no longer live', async () => {
    const scene = new Scene(() => [decision([1, 1])]);
    scene.refusals = 1;
    scene.live = false;
    await scene.decider().handle(scene.delivery(encodeNewEventBatch(batch(2))));
    assert.deepEqual(scene.calls, ['decide', 'publish', 'nacked', 'requeue']);
  });
});
