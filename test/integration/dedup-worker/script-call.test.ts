// The hand-written script call against the real Redis: EVAL loads it on a new connection, EVALSHA runs it after,
// and a NOSCRIPT (the script cache flushed, a promoted replica) is answered by sending it again as EVAL. The shared
// Redis's cache is not flushed here: a script of its own text (so a sha Redis has never seen) is marked as loaded
// on the connection, which is what a flushed cache looks like to the client.
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Redis } from 'ioredis';
import { LoadedScript } from '../../../dedup-worker/script-call.js';
import { cleanupNamespace, REDIS_URL, uniqueNamespace } from '../../../testkit/services.js';

describe('script call on the real Redis', () => {
  const namespace = uniqueNamespace('script-call');
  const redis = new Redis(REDIS_URL);
  after(async () => {
    await cleanupNamespace(namespace);
    redis.disconnect();
  });

  const call = (script: LoadedScript, arg: string) =>
    script.encode({
      leadingKeys: [`${namespace}:{p0}:x`],
      keyBytes: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      width: 16,
      indices: [0],
      prefixes: [`${namespace}:{p0}:e:`],
      prefixAt: () => 0,
      trailingKeys: [],
      args: [arg, 60000],
    });

  it('runs with EVAL first, EVALSHA after, and recovers from NOSCRIPT with EVAL', async () => {
    const script = new LoadedScript(
      `redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) return {KEYS[2], ARGV[1]} -- ${randomBytes(8).toString('hex')}`,
    );
    await redis.ping();
    assert.deepEqual(await script.run(redis, call(script, 'first')), [
      `${namespace}:{p0}:e:00112233445566778899aabbccddeeff`,
      'first',
    ]);
    assert.deepEqual(await script.run(redis, call(script, 'second')), [
      `${namespace}:{p0}:e:00112233445566778899aabbccddeeff`,
      'second',
    ]);

    const unseen = new LoadedScript(`return ARGV[1] -- ${randomBytes(8).toString('hex')}`);
    unseen.bytesFor(redis.stream, call(unseen, 'x'), new Command('evalsha', [])); // taken as loaded there
    assert.equal(await unseen.run(redis, call(unseen, 'after NOSCRIPT')), 'after NOSCRIPT');
    assert.equal(await unseen.run(redis, call(unseen, 'loaded now')), 'loaded now');
  });

  it('passes on the errors of the script itself', async () => {
    const failing = new LoadedScript(
      `return redis.error_reply('BOOM ' .. ARGV[1]) -- ${randomBytes(4).toString('hex')}`,
    );
    await assert.rejects(failing.run(redis, call(failing, 'now')), /BOOM now/);
  });
});
