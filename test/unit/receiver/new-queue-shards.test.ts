import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetTopology, newQueueShards, topologyNames } from '../../../shared/amqp/topology.js';
import { ShardRotation } from '../../../receiver/shard-rotation.js';

describe('shards of <ns>.new', () => {
  it('one shard is the topology of before: the fanout exchange and <ns>.new, no shard exchange', () => {
    const t = fleetTopology('ns', ['file']);
    assert.deepEqual(
      t.exchanges.map((e) => e.name),
      ['ns.new', 'ns.processed', 'ns.dead'],
    );
    assert.deepEqual(
      t.queues.map((q) => q.name),
      ['ns.new', 'ns.sink.file', 'ns.dead'],
    );
    assert.ok(t.bindings.every((b) => (b.routingKey ?? '') === ''));
    assert.deepEqual(newQueueShards('ns', 1), ['ns.new']);
  });

  it('n shards: shard 0 is <ns>.new, each shard bound to the direct exchange by its number, the fanout still to shard 0', () => {
    const t = fleetTopology('ns', ['file'], 3, 4);
    assert.deepEqual(newQueueShards('ns', 4), ['ns.new', 'ns.new.1', 'ns.new.2', 'ns.new.3']);
    assert.deepEqual(
      t.exchanges.find((e) => e.name === 'ns.new.shards'),
      { name: 'ns.new.shards', type: 'direct' },
    );
    for (const [k, queue] of newQueueShards('ns', 4).entries()) {
      const q = t.queues.find((x) => x.name === queue);
      assert.ok(
        q?.deadLetterExchange === 'ns.dead' && q.deliveryLimit !== undefined,
        `${queue} dead-letters like <ns>.new`,
      );
      assert.deepEqual(
        t.bindings.filter((b) => b.queue === queue && b.exchange === 'ns.new.shards'),
        [{ queue, exchange: 'ns.new.shards', routingKey: String(k) }],
      );
    }
    assert.deepEqual(
      t.bindings.filter((b) => b.exchange === 'ns.new'),
      [{ queue: 'ns.new', exchange: 'ns.new' }],
    );
    assert.equal(topologyNames('ns').newShardQueue(0), 'ns.new');
  });

  it('a receiver takes the shards in turn from its starting shard, and one shard always means the fanout exchange', () => {
    const rotation = new ShardRotation('ns.new', 'ns.new.shards', 3, 2);
    assert.deepEqual(
      Array.from({ length: 5 }, () => rotation.route()),
      [
        { exchange: 'ns.new.shards', routingKey: '2' },
        { exchange: 'ns.new.shards', routingKey: '0' },
        { exchange: 'ns.new.shards', routingKey: '1' },
        { exchange: 'ns.new.shards', routingKey: '2' },
        { exchange: 'ns.new.shards', routingKey: '0' },
      ],
    );
    const single = new ShardRotation('ns.new', 'ns.new.shards', 1);
    assert.deepEqual([single.route(), single.route()], [{ exchange: 'ns.new' }, { exchange: 'ns.new' }]);
  });

  it("spreads a random start evenly: over many receivers every shard is someone's first", () => {
    const firsts = new Set(Array.from({ length: 200 }, () => new ShardRotation('a', 'b', 4).route().routingKey));
    assert.deepEqual([...firsts].sort(), ['0', '1', '2', '3']);
  });
});
