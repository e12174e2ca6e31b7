import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { PrivateRedisCluster } from '../../../chaos/private-redis-cluster.js';
import { encodeBody, type NewEventBatch } from '../../../shared/batch-codec.js';
import { createRedisClient, type RedisClient } from '../../../shared/redis-client.js';
import { parseRedisUrl } from '../../../shared/redis-endpoints.js';
import { DedupStore } from '../../../dedup-worker/dedup-store.js';
import { hashSlot } from '../../../dedup-worker/hash-slot.js';
import { checkDependencies } from '../../../cli/preflight.js';
import { AMQP_URL, uniqueNamespace } from '../../../testkit/services.js';
import { WorkerProcess } from '../../support/fanout-stream.js';
import { runFailover } from '../../support/redis-failover-run.js';
import { drainBacklog } from '../../support/redis-backlog-run.js';

const PARTITIONS = 16;
const keyOf = (line: string) => createHash('sha256').update(line).digest().subarray(0, 16);
const batchOf = (receiverId: string, bootId: string, seq: number, lines: readonly string[]): NewEventBatch => ({
  receiverId,
  bootId,
  seq,
  keys: Buffer.concat(lines.map(keyOf)),
  bodies: lines.map((message) =>
    encodeBody({
      tag: 't',
      time: null,
      received_at: Date.now(),
      receiver: receiverId,
      source: null,
      transport: 'udp',
      format: 'raw',
      message,
    }),
  ),
});
const linesNamed = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

/** A private 3-master, 3-replica Redis Cluster: the worker's client, its traps, and a master SIGKILLed mid-stream. */
describe('dedup on a real Redis Cluster', { timeout: 170_000 }, () => {
  let cluster: PrivateRedisCluster;
  let client: RedisClient;
  const dir = mkdtempSync(join(tmpdir(), 'fanin-redis-cluster-'));

  before(async () => {
    cluster = await PrivateRedisCluster.start(dir);
    client = createRedisClient(parseRedisUrl(cluster.url), { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      if (client.status === 'ready') resolve();
      else client.once('ready', () => resolve());
    });
  });
  after(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('the URL builds an ioredis Cluster; hashSlot agrees with CLUSTER KEYSLOT', async () => {
    assert.ok(client instanceof Cluster);
    for (const key of ['foo', 'ns:{p0}:e:ab', 'ns:{p15}:b:x', 'no-tag']) {
      assert.equal(hashSlot(key), Number(await cluster.command(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key)));
    }
    const masters = new Set(
      await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => cluster.masterOfSlot(hashSlot(`{p${p}}`)))),
    );
    assert.equal(masters.size, 3, `${PARTITIONS} partitions spread over all three masters`);
  });

  it("fanin up's preflight reaches the cluster, and names it when it is not there", async () => {
    assert.deepEqual(await checkDependencies(AMQP_URL, cluster.url), []);
    const [problem] = await checkDependencies(AMQP_URL, 'redis+cluster://127.0.0.1:1,127.0.0.1:2');
    assert.match(problem ?? '', /Redis at redis\+cluster:\/\/127\.0\.0\.1:1,127\.0\.0\.1:2/);
  });

  it('trap: a custom command in a pipeline spanning slots is refused by ioredis; the store sends separate calls instead', async () => {
    const c = client as Cluster;
    const ns = uniqueNamespace('cl-pipe');
    const pipeline = c.pipeline();
    pipeline.set(`${ns}:{p0}:x`, '1');
    pipeline.set(`${ns}:{p1}:x`, '1');
    pipeline.set(`${ns}:{p2}:x`, '1');
    await assert.rejects(pipeline.exec(), /slot/i, 'ioredis refuses a pipeline whose keys live on different masters');

    const store = new DedupStore(client, { namespace: ns, partitions: PARTITIONS, windowMs: 60_000 });
    const lines = linesNamed(`${ns} pipe`, 64);
    const a = await store.decide(batchOf('a', 'pipe', 1, lines));
    assert.ok(a.length > 3, 'a batch of 64 lines touches many partitions');
    assert.equal(a.flatMap((d) => d.occurrences).filter((n) => n === 1).length, 64, 'every first copy unique');
    await store.markPublished(batchOf('a', 'pipe', 1, lines), a);
    const b = await store.decide(batchOf('b', 'pipe', 1, lines));
    assert.equal(b.flatMap((d) => d.occurrences).filter((n) => n === 0).length, 64, 'every second copy a duplicate');
    const again = await store.decide(batchOf('a', 'pipe', 1, lines));
    assert.ok(
      again.every((d) => d.reused && d.published),
      'a redelivery reuses the stored, published decisions on every shard',
    );
  });

  it('trap: NOSCRIPT after the script cache of every master is flushed: ioredis falls back to EVAL', async () => {
    const ns = uniqueNamespace('cl-noscript');
    const store = new DedupStore(client, { namespace: ns, partitions: PARTITIONS, windowMs: 60_000 });
    await store.decide(batchOf('a', 'ns', 1, linesNamed(`${ns} before`, 40)));
    const masters = (await cluster.nodeInfos()).filter((i) => i.role === 'master');
    for (const m of masters) assert.equal(await cluster.command(m.port, 'SCRIPT', 'FLUSH'), 'OK');
    const decided = await store.decide(batchOf('a', 'ns', 2, linesNamed(`${ns} after`, 40)));
    assert.equal(decided.flatMap((d) => d.occurrences).filter((n) => n === 1).length, 40);
  });

  it("trap: MOVED, ASK and TRYAGAIN while a partition's slot migrates to another master, keys and batch record with it", async (t) => {
    const ns = uniqueNamespace('cl-move');
    const store = new DedupStore(client, { namespace: ns, partitions: PARTITIONS, windowMs: 60_000 });
    const lines = linesNamed(`${ns} move`, 48);
    const first = await store.decide(batchOf('a', 'mv', 1, lines));
    const busiest = first.reduce((m, d) => (d.indices.length > m.indices.length ? d : m));
    assert.ok(busiest.indices.length >= 2, 'a partition with at least two of the lines');
    const slot = hashSlot(`{p${busiest.partition}}`);
    const infos = await cluster.nodeInfos();
    const fromPort = await cluster.masterOfSlot(slot);
    const from = infos.find((i) => i.port === fromPort)!;
    const to = infos.find((i) => i.role === 'master' && i.port !== fromPort)!;
    // A second client whose slot map predates the move: its first call after the move must meet MOVED.
    const stale = createRedisClient(parseRedisUrl(cluster.url), { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    stale.on('error', () => undefined);
    await new Promise<void>((resolve) => stale.once('ready', () => resolve()));
    t.after(() => stale.disconnect());
    await cluster.command(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await cluster.command(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
    const keys = (await cluster.command(from.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'))
      .split(',')
      .filter(Boolean);
    // One of this batch's event keys moved, the others (and everything else) still here: b's copy, a script over
    // those keys, answers TRYAGAIN (some here, some there). Fresh lines, none of whose keys is here, answer ASK.
    const ourEventKeys = keys.filter((k) => k.startsWith(`${ns}:{`) && k.includes('}:e:'));
    assert.ok(ourEventKeys.length >= 2);
    await cluster.command(
      from.port,
      'MIGRATE',
      '127.0.0.1',
      String(to.port),
      '',
      '0',
      '5000',
      'KEYS',
      ourEventKeys[0]!,
    );
    const during = store.decide(batchOf('b', 'mv', 1, lines));
    const fresh = store.decide(batchOf('a', 'mv', 2, linesNamed(`${ns} fresh`, 64)));
    await new Promise((r) => setTimeout(r, 300));
    const rest = (await cluster.command(from.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'))
      .split(',')
      .filter(Boolean);
    if (rest.length > 0)
      await cluster.command(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...rest);
    for (const i of infos.filter((x) => x.role === 'master'))
      await cluster.command(i.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    const b = await during;
    assert.equal((await fresh).flatMap((d) => d.occurrences).filter((n) => n === 1).length, 64);
    assert.equal(
      b.flatMap((d) => d.occurrences).filter((n) => n === 0).length,
      48,
      "b's copies are duplicates, counted across the move",
    );
    const redelivered = await new DedupStore(stale, { namespace: ns, partitions: PARTITIONS, windowMs: 60_000 }).decide(
      batchOf('a', 'mv', 1, lines),
    );
    assert.ok(
      redelivered.every((d) => d.reused),
      'the batch records moved with the slot (MOVED followed)',
    );
    assert.equal(await cluster.masterOfSlot(slot), to.port);
    // The source master's error counters prove the store really met each redirection and ioredis followed it.
    const errorstats = await cluster.command(from.port, 'INFO', 'errorstats');
    t.diagnostic(`error replies of the source master: ${errorstats.trim().replace(/\r?\n/g, ' ')}`);
    for (const reply of ['ASK', 'TRYAGAIN', 'MOVED'])
      assert.match(errorstats, new RegExp(`errorstat_${reply}:count=[1-9]`), `${reply} was answered`);
  });

  it('refuses to start a worker with 1 partition on a cluster, naming FANIN_WORKER_DEDUP_PARTITIONS', async () => {
    const worker = WorkerProcess.start({
      FANIN_NAMESPACE: uniqueNamespace('cl-one'),
      FANIN_AMQP_URL: AMQP_URL,
      FANIN_REDIS_URL: cluster.url,
      FANIN_WORKER_DEDUP_PARTITIONS: '1',
      FANIN_METRICS_PORT: '0',
      FANIN_METRICS_HOST: '127.0.0.1',
    });
    const code = await worker.exitCode(15_000);
    await worker.stop();
    assert.notEqual(code, 0);
    assert.notEqual(code, null);
    assert.match(worker.log, /FANIN_WORKER_DEDUP_PARTITIONS.*16 or more/);
  });

  it('worker.redisWaitReplicas: WAIT 1 after each batch still lands every line; its cost in batches/s against WAIT 0', async (t) => {
    const run = (waitReplicas: number) =>
      drainBacklog({
        label: `cl-wait${waitReplicas}`,
        redisUrl: cluster.url,
        partitions: PARTITIONS,
        lines: 4000,
        batchSize: 20,
        timeoutMs: 40_000,
        env: { FANIN_WORKER_REDIS_WAIT_REPLICAS: String(waitReplicas) },
      });
    const without = await run(0);
    const withWait = await run(1);
    t.diagnostic(
      `400 fanned-out batches of 20 lines, ${PARTITIONS} partitions, 3 masters: WAIT 0 ${without.batchesPerSecond} batches/s, WAIT 1 ${withWait.batchesPerSecond} batches/s`,
    );
    for (const r of [without, withWait]) {
      assert.equal(r.lost, 0, r.workerLog.slice(-2000));
      assert.equal(r.duplicates, 0);
    }
  });

  it('a WAIT that cannot be satisfied (2 replicas asked, 1 exists) publishes and acks nothing', async () => {
    const r = await drainBacklog({
      label: 'cl-wait2',
      redisUrl: cluster.url,
      partitions: PARTITIONS,
      lines: 20,
      batchSize: 20,
      timeoutMs: 4000,
      env: { FANIN_WORKER_REDIS_WAIT_REPLICAS: '2', FANIN_WORKER_REDIS_WAIT_TIMEOUT_MS: '200' },
    });
    assert.equal(r.lost, 20, 'no line published while the decisions lack the replicas asked for');
    assert.match(r.workerLog, /WAIT: 1 of 2 replicas acknowledged within 200 ms/);
  });

  for (const waitReplicas of [0, 1]) {
    it(`SIGKILL of a master mid-stream (WAIT ${waitReplicas}): its replica takes over, the worker holds and resumes once the shard can take writes (and WAIT), no line lost`, async (t) => {
      let killedPort = 0;
      let failoverMs = 0;
      let restarted: Promise<void> = Promise.resolve();
      const result = await runFailover({
        label: `cl-failover${waitReplicas}`,
        redisUrl: cluster.url,
        partitions: PARTITIONS,
        waitReplicas,
        rounds: 24,
        linesPerRound: 100,
        roundPauseMs: 150,
        faultRound: 6,
        settleTimeoutMs: 40_000,
        fault: async () => {
          killedPort = await cluster.masterOfSlot(hashSlot('{p0}'));
          const killedAt = Date.now();
          await cluster.node(killedPort).kill();
          // Brought back once its replica took over: it rejoins as that replica. Until then a shard without replica
          // cannot satisfy WAIT 1, and the worker holds rather than act on decisions that a second failure could lose.
          restarted = cluster.waitForFailover(killedPort).then(() => {
            failoverMs = Date.now() - killedAt;
            return cluster.node(killedPort).start();
          });
        },
      });
      await restarted;
      t.diagnostic(
        `WAIT ${waitReplicas}: cluster failover ${failoverMs} ms from SIGKILL to a promoted replica and cluster_state:ok; ` +
          `pipeline paused ${result.pipelinePauseMs} ms; ${result.lines} lines, lost ${result.lost.length}, ` +
          `duplicates same id ${result.sameIdDuplicates}, new id ${result.newIdDuplicates}`,
      );
      t.diagnostic(
        `the worker ${/holding: stopped consuming/.test(result.workerLog) ? 'held (stopped consuming) and resumed' : 'never held: ioredis retries covered the failover'}`,
      );
      assert.deepEqual(result.lost, [], `lost lines; worker log:\n${result.workerLog.slice(-3000)}`);
      assert.ok(result.pipelinePauseMs < 30_000, `the worker resumed (paused ${result.pipelinePauseMs} ms)`);
      await cluster.waitForReplica(killedPort);
    });
  }
});
