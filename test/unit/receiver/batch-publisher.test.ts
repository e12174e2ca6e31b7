// The receiver's batch publisher between the batcher and the broker: its queue (sequence order, a bounded number
// unconfirmed, backpressure), its spool (a real SpoolJournal in a temporary directory) and when a batch counts as
// accepted. The broker is a scripted confirm publisher: the test decides when each publish is confirmed or fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { PublishError, type ConfirmPublisher } from '../../../shared/amqp/confirm-publisher.js';
import { decodeNewEventBatch } from '../../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../../shared/event-key.js';
import { ROUTE_BYTES } from '../../../shared/event-route.js';
import { BatchPublisher } from '../../../receiver/batch-publisher.js';
import type { SealedBatch } from '../../../receiver/event-batcher.js';
import { createReceiverMetrics } from '../../../receiver/receiver-metrics.js';
import { SpoolSyncError } from '../../../receiver/spool/group-sync.js';
import { SpoolJournal } from '../../../receiver/spool/spool-journal.js';

const silent = pino({ level: 'silent' });

interface Publish {
  readonly messageId: string;
  readonly seq: number;
  settle(ok: boolean): void;
}

/** A broker that confirms or fails each publish only when the test says so. */
class ScriptedBroker {
  ready = true;
  readonly publishes: Publish[] = [];
  get asPublisher(): ConfirmPublisher {
    return this as unknown as ConfirmPublisher;
  }
  publish(_exchange: string, body: Buffer, o: { messageId: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publishes.push({
        messageId: o.messageId,
        seq: decodeNewEventBatch(body).seq,
        settle: (ok) => (ok ? resolve() : reject(new PublishError('CHANNEL_CLOSED', 'channel closed'))),
      });
    });
  }
  /** The sequence numbers published so far, in publish order. */
  get seqs(): number[] {
    return this.publishes.map((p) => p.seq);
  }
  /** Settles the earliest unsettled publish of `seq`. */
  settle(seq: number, ok = true): void {
    const at = this.publishes.findIndex((p) => p.seq === seq && !settled.has(p));
    assert.notEqual(at, -1, `batch ${seq} was published`);
    settled.add(this.publishes[at]!);
    this.publishes[at]!.settle(ok);
  }
}
const settled = new WeakSet<Publish>();

function sealed(seq: number): SealedBatch {
  return {
    seq,
    keys: Buffer.alloc(EVENT_KEY_BYTES, seq),
    bodies: [Buffer.from(`event of batch ${seq}`)],
    bytes: 20,
    chunks: [],
    routes: { tags: ['app'], keys: new Uint8Array(ROUTE_BYTES) },
    origins: null,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function publisherWith(broker: ScriptedBroker, spool: SpoolJournal | null = null, maxUnconfirmed = 2) {
  return new BatchPublisher(
    broker.asPublisher,
    { route: () => ({ exchange: 'ns.new' }), receiverId: 'r1', bootId: 'boot', maxUnconfirmed, maxBuffered: 100 },
    createReceiverMetrics(new Registry()),
    silent,
    spool,
  );
}

function withSpool<T>(run: (spool: SpoolJournal, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-batch-publisher-'));
  const spool = new SpoolJournal({ dir, segmentBytes: 4096, maxBytes: 1 << 20, fsync: 'never' });
  return run(spool, dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('batch publisher: queue and confirms', () => {
  it('publishes in sequence order with at most maxUnconfirmed in flight; a batch is accepted only once confirmed', async () => {
    const broker = new ScriptedBroker();
    const bp = publisherWith(broker);
    for (const seq of [1, 2, 3]) bp.enqueue(sealed(seq));
    assert.deepEqual(broker.seqs, [1, 2], 'the third waits for a confirm');
    let accepted = false;
    void bp.whenConfirmed(2).then(() => {
      accepted = true;
    });
    broker.settle(1);
    await tick();
    assert.deepEqual(broker.seqs, [1, 2, 3], 'a confirm frees a slot');
    assert.equal(accepted, false, 'batch 2 is not accepted while unconfirmed');
    broker.settle(2);
    await tick();
    assert.equal(accepted, true);
    assert.deepEqual(
      broker.publishes.map((p) => p.messageId),
      ['r1:boot:1', 'r1:boot:2', 'r1:boot:3'],
    );
    bp.close();
  });

  it('pauses stream intake at maxUnconfirmed held batches and resumes at half', async () => {
    const broker = new ScriptedBroker();
    const bp = publisherWith(broker, null, 4);
    const pressure: boolean[] = [];
    bp.on('pressure', (p) => pressure.push(p));
    for (const seq of [1, 2, 3, 4, 5]) bp.enqueue(sealed(seq));
    assert.deepEqual(pressure, [true]);
    assert.equal(bp.isPaused, true);
    for (const seq of [1, 2]) broker.settle(seq);
    await tick();
    assert.equal(bp.held, 3, 'batch 5 was published in a freed slot');
    assert.deepEqual(pressure, [true], 'three held is still above half of four');
    broker.settle(3);
    await tick();
    assert.deepEqual(pressure, [true, false]);
    bp.close();
  });

  it('puts a batch whose publish failed back in sequence order and sends it again with the same message id', async () => {
    const broker = new ScriptedBroker();
    const bp = publisherWith(broker, null, 2);
    for (const seq of [1, 2, 3]) bp.enqueue(sealed(seq));
    broker.ready = false; // the channel is lost: resent on resume(), not by a timer
    broker.settle(1, false);
    broker.settle(2);
    await tick();
    bp.enqueue(sealed(4));
    assert.deepEqual(broker.seqs, [1, 2], 'nothing is published while the broker is away');
    broker.ready = true;
    bp.resume();
    assert.deepEqual(broker.seqs, [1, 2, 1, 3], 'batch 1 goes again ahead of batch 3, which waited behind it');
    broker.settle(1);
    await tick();
    assert.deepEqual(broker.seqs, [1, 2, 1, 3, 4]);
    assert.deepEqual(
      broker.publishes.filter((p) => p.seq === 1).map((p) => p.messageId),
      ['r1:boot:1', 'r1:boot:1'],
    );
    bp.close();
  });

  it('rejects what is still waiting for a confirm when closed', async () => {
    const broker = new ScriptedBroker();
    const bp = publisherWith(broker);
    bp.enqueue(sealed(1));
    const waiting = bp.whenConfirmed(1);
    bp.close();
    await assert.rejects(waiting, /shut down before the broker confirmed/);
  });
});

describe('batch publisher: spool', () => {
  it('spools while the broker is away (accepted at once), then replays the spool oldest first before new batches', () =>
    withSpool(async (spool) => {
      const broker = new ScriptedBroker();
      broker.ready = false;
      const bp = publisherWith(broker, spool, 1);
      bp.enqueue(sealed(1));
      bp.enqueue(sealed(2));
      await bp.whenConfirmed(2); // resolves: written to the journal counts as accepted
      assert.equal(spool.hasData, true);
      assert.equal(bp.held, 0, 'spooled batches are not held in memory');
      broker.ready = true;
      // The broker is back but the journal still holds data: batch 3 joins the journal behind 1 and 2, never ahead.
      bp.enqueue(sealed(3));
      await bp.whenConfirmed(3);
      assert.deepEqual(broker.seqs, [1], 'replay starts with the oldest record, one in flight');
      broker.settle(1);
      await tick();
      assert.deepEqual(broker.seqs, [1, 2]);
      broker.settle(2);
      await tick();
      assert.deepEqual(broker.seqs, [1, 2, 3], 'the new batch goes last');
      broker.settle(3);
      await tick();
      assert.equal(spool.hasData, false, 'every confirmed record is released');
      bp.close();
    }));

  it('rewinds the journal when a replayed batch is not confirmed, and replays it again with the same message id', () =>
    withSpool(async (spool) => {
      const broker = new ScriptedBroker();
      broker.ready = false;
      const bp = publisherWith(broker, spool, 10);
      bp.enqueue(sealed(1));
      broker.ready = true;
      bp.resume();
      assert.deepEqual(broker.seqs, [1]);
      broker.ready = false;
      broker.settle(1, false);
      await tick();
      assert.equal(spool.hasData, true, 'the record stays on disk');
      broker.ready = true;
      bp.resume();
      assert.deepEqual(
        broker.publishes.map((p) => p.messageId),
        ['r1:boot:1', 'r1:boot:1'],
      );
      broker.settle(1);
      await tick();
      assert.equal(spool.hasData, false);
      bp.close();
    }));

  it('drain: batches still unconfirmed when the broker goes away are written to the journal, none lost', () =>
    withSpool(async (spool, dir) => {
      const broker = new ScriptedBroker();
      const bp = publisherWith(broker, spool, 2);
      for (const seq of [1, 2, 3]) bp.enqueue(sealed(seq));
      broker.ready = false;
      assert.equal(await bp.drain(50), 0);
      const again = new SpoolJournal({ dir, segmentBytes: 4096, maxBytes: 1 << 20, fsync: 'never' });
      const seqs: number[] = [];
      for (let r = again.next(); r; r = again.next()) seqs.push(decodeNewEventBatch(r.bytes).seq);
      assert.deepEqual(seqs, [1, 2, 3], 'in sequence order');
      await again.close();
      bp.close();
    }));

  it('drain with fsync=always: the batches it spools are synced and answered before drain returns', () =>
    withSpool(async (_, dir) => {
      const spool = new SpoolJournal({
        dir: join(dir, 'always'),
        segmentBytes: 4096,
        maxBytes: 1 << 20,
        fsync: 'always',
      });
      const broker = new ScriptedBroker();
      const bp = publisherWith(broker, spool, 2);
      for (const seq of [1, 2, 3]) bp.enqueue(sealed(seq));
      const answered: number[] = [];
      const waits = [1, 2, 3].map((seq) => bp.whenConfirmed(seq).then(() => answered.push(seq)));
      broker.ready = false;
      assert.equal(await bp.drain(50), 0);
      await tick();
      assert.deepEqual(answered.sort(), [1, 2, 3], 'every spooled batch is durable and answered once drain returns');
      bp.close();
      await Promise.all(waits);
    }));

  it('answers a spooled batch only once its record is synced: never before, and never if the sync fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-bp-spool-'));
    const syncs: { done: (err?: Error) => void }[] = [];
    let diskAnswersAtOnce = false;
    const syncFile = () =>
      diskAnswersAtOnce
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => syncs.push({ done: (err) => (err ? reject(err) : resolve()) }));
    const spool = new SpoolJournal({ dir, segmentBytes: 1 << 20, maxBytes: 1 << 20, fsync: 'always', syncFile });
    try {
      const broker = new ScriptedBroker();
      broker.ready = false;
      const bp = publisherWith(broker, spool, 1);
      bp.enqueue(sealed(1));
      let acked = false;
      const accepted = bp.whenConfirmed(1).then(() => (acked = true));
      for (let i = 0; i < 3; i++) await tick();
      assert.equal(spool.hasData, true, 'the record is written');
      assert.equal(syncs.length, 1, 'and its sync requested');
      assert.equal(acked, false, 'no ack while the sync runs');
      syncs[0]!.done();
      await accepted;
      assert.equal(acked, true);

      bp.enqueue(sealed(2));
      const refused = bp.whenConfirmed(2);
      for (let i = 0; i < 3; i++) await tick();
      syncs[1]!.done(new Error('EIO'));
      await assert.rejects(refused, SpoolSyncError, 'a batch whose sync failed is never acknowledged');
      bp.close();
    } finally {
      diskAnswersAtOnce = true;
      for (const s of syncs.slice(2)) s.done();
      await spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
