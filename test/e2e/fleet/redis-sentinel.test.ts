import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateRedisSentinel } from '../../../chaos/private-redis-sentinel.js';
import { checkDependencies } from '../../../cli/preflight.js';
import { AMQP_URL } from '../../../testkit/services.js';
import { runFailover } from '../../support/redis-failover-run.js';

/** A private Sentinel group (1 master, 2 replicas, 3 sentinels): the worker follows a failover and loses no line. */
describe('dedup on a real Redis Sentinel group', { timeout: 170_000 }, () => {
  let group: PrivateRedisSentinel;
  const dir = mkdtempSync(join(tmpdir(), 'fanin-redis-sentinel-'));
  before(async () => {
    group = await PrivateRedisSentinel.start(dir);
  });
  after(async () => {
    await group?.stop();
  });

  it("fanin up's preflight reaches the master through the sentinels, and names an unknown master", async () => {
    assert.deepEqual(await checkDependencies(AMQP_URL, group.url), []);
    const [problem] = await checkDependencies(AMQP_URL, group.url.replace(/\/fanin$/, '/nosuchmaster'));
    assert.match(problem ?? '', /Redis at redis\+sentinel:\/\/.*\/nosuchmaster/);
  });

  it('SIGKILL of the master mid-stream: the sentinels promote a replica, the worker follows it, no line lost', async (t) => {
    let oldMaster = 0;
    let failoverMs = 0;
    const result = await runFailover({
      label: 'sen-failover',
      redisUrl: group.url,
      partitions: 1,
      rounds: 30,
      linesPerRound: 100,
      roundPauseMs: 150,
      faultRound: 8,
      settleTimeoutMs: 40_000,
      fault: async () => {
        oldMaster = await group.masterPort();
        const killedAt = Date.now();
        await group.dataNode(oldMaster).kill();
        void group.waitForFailover(oldMaster).then(
          () => {
            failoverMs = Date.now() - killedAt;
          },
          () => undefined,
        );
      },
    });
    const newMaster = await group.waitForFailover(oldMaster);
    t.diagnostic(
      `sentinel failover: ${failoverMs} ms from SIGKILL of ${oldMaster} to ${newMaster} named master; ` +
        `pipeline paused ${result.pipelinePauseMs} ms; ${result.lines} lines, lost ${result.lost.length}, ` +
        `duplicates same id ${result.sameIdDuplicates}, new id ${result.newIdDuplicates}`,
    );
    t.diagnostic(
      `the worker ${/holding: stopped consuming/.test(result.workerLog) ? 'held (stopped consuming) and resumed' : 'never held'}`,
    );
    assert.notEqual(newMaster, oldMaster);
    assert.deepEqual(result.lost, [], `lost lines; worker log:\n${result.workerLog.slice(-3000)}`);
    assert.ok(result.pipelinePauseMs < 30_000, `the worker resumed (paused ${result.pipelinePauseMs} ms)`);
  });
});
