import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_PORT_BLOCK, clusterPorts } from '../../../chaos/cluster-ports.js';
import { withHeartbeat } from '../../../chaos/cluster-suite.js';
import { cutRules } from '../../../chaos/node-partition.js';

describe('the cluster chaos setup (pure parts)', () => {
  it('gives every private server its own port inside the block from the base', () => {
    const p = clusterPorts(31_000);
    const all = [
      ...p.rabbit.flatMap((r) => [r.amqp, r.dist]),
      ...p.redisCluster.flatMap((r) => [r.port, r.busPort]),
      ...p.sentinel,
    ];
    assert.equal(all.length, 24);
    assert.equal(new Set(all).size, all.length, 'no port twice');
    assert.ok(
      all.every((x) => x >= 31_000 && x < 31_000 + CLUSTER_PORT_BLOCK),
      `all in 31000..${31_000 + CLUSTER_PORT_BLOCK - 1}`,
    );
    assert.throws(() => clusterPorts(65_500), /port base/);
  });

  it('cuts a node with DROP rules on both directions of each port, and on everything its cgroup sends', () => {
    const rules = cutRules({ ports: [31_000, 31_010], cgroupPath: 'fanin-chaos/n1', tag: '31000' }).map((r) =>
      r.join(' '),
    );
    for (const port of [31_000, 31_010]) {
      assert.ok(
        rules.includes(`INPUT -i lo -p tcp --dport ${port} -m comment --comment fanin-chaos-cut-31000 -j DROP`),
      );
      assert.ok(
        rules.includes(`INPUT -i lo -p tcp --sport ${port} -m comment --comment fanin-chaos-cut-31000 -j DROP`),
      );
    }
    assert.ok(
      rules.includes('OUTPUT -m cgroup --path fanin-chaos/n1 -m comment --comment fanin-chaos-cut-31000 -j DROP'),
    );
    assert.ok(
      rules.every((r) => r.endsWith('-j DROP')),
      'nothing is rejected: peers and clients hear silence',
    );
    assert.equal(cutRules({ ports: [1], cgroupPath: null, tag: '1' }).length, 2);
  });

  it('puts the AMQP heartbeat on every URL of the list, and leaves the list alone without one', () => {
    const urls = 'amqp://guest:guest@127.0.0.1:31000,amqp://guest:guest@127.0.0.1:31001';
    assert.equal(withHeartbeat(urls, undefined), urls);
    assert.deepEqual(
      withHeartbeat(urls, 10)
        .split(',')
        .map((u) => new URL(u).searchParams.get('heartbeat')),
      ['10', '10'],
    );
  });
});
