// The dedup script's call written by hand must be the very bytes ioredis writes for defineCommand's EVALSHA (and
// EVAL the first time on a connection): the same command reaches Redis, whichever way it was made. Sending it to a
// real Redis, NOSCRIPT included, is covered by test/integration/dedup-worker/dedup-store.test.ts.
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Command } from 'ioredis';
import { hashSlot } from '../../../dedup-worker/hash-slot.js';
import { LoadedScript, type ScriptCallParts } from '../../../dedup-worker/script-call.js';

const LUA = "return redis.call('GET', KEYS[1]) -- é";

/** What ioredis writes for the same call: its command made of the same arguments, keys as strings. */
function ioredisBytes(script: LoadedScript, parts: ScriptCallParts, asEval: boolean): Buffer {
  const { leadingKeys, keyBytes, width, indices, prefixes, prefixAt, trailingKeys, args } = parts;
  const eventKeys = indices.map(
    (i) => prefixes[prefixAt(i)]! + Buffer.from(keyBytes.subarray(i * width, (i + 1) * width)).toString('hex'),
  );
  const keys = [...leadingKeys, ...eventKeys, ...trailingKeys];
  const command = new Command(asEval ? 'eval' : 'evalsha', [asEval ? LUA : script.sha, keys.length, ...keys, ...args]);
  const written = command.toWritable({});
  return typeof written === 'string' ? Buffer.from(written, 'utf8') : written;
}

const parts = fc
  .record({
    leadingKeys: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 2 }),
    keys: fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { maxLength: 40 }),
    replica: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
    prefixes: fc.tuple(fc.string(), fc.string()),
    trailingKeys: fc.array(fc.string(), { maxLength: 3 }),
    args: fc.array(fc.oneof(fc.string(), fc.nat(), fc.constant('')), { maxLength: 8 }),
  })
  .map(({ leadingKeys, keys, replica, prefixes, trailingKeys, args }): ScriptCallParts => ({
    leadingKeys,
    keyBytes: Buffer.concat(keys),
    width: 16,
    indices: keys.map((_, i) => i).filter((i) => i % 3 !== 1),
    prefixes,
    prefixAt: (i) => (replica[i] ? 1 : 0),
    trailingKeys,
    args,
  }));

describe('script call written as RESP bytes', () => {
  const script = new LoadedScript(LUA);

  it("writes the bytes of ioredis's EVALSHA for any keys and arguments", () => {
    fc.assert(
      fc.property(parts, (p) => {
        assert.deepEqual(script.encode(p).bytes, ioredisBytes(script, p, false));
      }),
      { numRuns: 300 },
    );
  });

  it('sends EVAL with the script the first time on a connection, EVALSHA after, EVAL again once forgotten', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const call = script.encode(p);
        const socket = {};
        const command = new Command('evalsha', []);
        assert.deepEqual(script.bytesFor(socket, call, command), ioredisBytes(script, p, true));
        assert.equal(command.name, 'eval');
        assert.deepEqual(script.bytesFor(socket, call, command), ioredisBytes(script, p, false));
        assert.equal(command.name, 'evalsha');
        assert.deepEqual(script.bytesFor({}, call, command), ioredisBytes(script, p, true), 'another connection');
        script.forget(socket);
        assert.deepEqual(script.bytesFor(socket, call, command), ioredisBytes(script, p, true), 'after NOSCRIPT');
      }),
      { numRuns: 50 },
    );
  });

  it('names the slot of its first key for a Redis Cluster, and the sha1 of the script as EVALSHA wants', () => {
    const call = script.encode({
      leadingKeys: ['ns:{p7}:b:a:boot:1'],
      keyBytes: Buffer.alloc(32, 1),
      width: 16,
      indices: [0, 1],
      prefixes: ['ns:{p7}:e:'],
      prefixAt: () => 0,
      trailingKeys: [],
      args: ['a', 600000],
    });
    assert.equal(call.slot, hashSlot('{p7}'));
    assert.equal(call.firstKey, 'ns:{p7}:b:a:boot:1');
    assert.equal(script.sha, createHash('sha1').update(LUA).digest('hex'));
  });
});
