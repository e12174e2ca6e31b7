import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../../../shared/redis-endpoints.js';
import { checkPartitionsFitMode, partitionsFor } from '../../../dedup-worker/partitions-for-mode.js';
import { hashSlot } from '../../../dedup-worker/hash-slot.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { ConfigError } from '../../../shared/config/config-error.js';

describe('parseRedisUrl', () => {
  it('one node, as before: host, port, database, no TLS', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379'), {
      mode: 'single',
      tls: false,
      node: { host: '127.0.0.1', port: 6379 },
      db: 0,
    });
    assert.deepEqual(parseRedisUrl('redis://cache.internal/2'), {
      mode: 'single',
      tls: false,
      node: { host: 'cache.internal', port: 6379 },
      db: 2,
    });
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000'), {
      mode: 'single',
      tls: false,
      node: { host: '::1', port: 7000 },
      db: 0,
    });
  });

  it('credentials: user and password, password only, percent-encoded', () => {
    assert.deepEqual(parseRedisUrl('redis://fanin:s3cret@h:1'), {
      mode: 'single',
      tls: false,
      username: 'fanin',
      password: 's3cret',
      node: { host: 'h', port: 1 },
      db: 0,
    });
    assert.deepEqual(parseRedisUrl('redis://:only@h:1'), {
      mode: 'single',
      tls: false,
      password: 'only',
      node: { host: 'h', port: 1 },
      db: 0,
    });
    const p = parseRedisUrl('redis+cluster://u:p%40ss%2Cw@a:1,b:2');
    assert.equal(p.password, 'p@ss,w');
    assert.equal(p.mode === 'cluster' && p.nodes.length, 2);
  });

  it('Sentinel: the sentinel list (default port 26379) and the master name', () => {
    assert.deepEqual(parseRedisUrl('redis+sentinel://u:p@s1:26379,s2:26380,s3/mymaster'), {
      mode: 'sentinel',
      tls: false,
      username: 'u',
      password: 'p',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      masterName: 'mymaster',
    });
  });

  it('Cluster: the seed nodes', () => {
    assert.deepEqual(parseRedisUrl('redis+cluster://10.0.0.1:7000, 10.0.0.2:7001,10.0.0.3'), {
      mode: 'cluster',
      tls: false,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '10.0.0.3', port: 6379 },
      ],
    });
  });

  it('rediss in every mode turns TLS on; the scheme is case-insensitive', () => {
    assert.equal(parseRedisUrl('rediss://h:6380').tls, true);
    assert.equal(parseRedisUrl('rediss+sentinel://a:1,b:2/m').tls, true);
    assert.equal(parseRedisUrl('REDISS+CLUSTER://a:1,b:2').tls, true);
    assert.equal(parseRedisUrl('redis+cluster://a:1').tls, false);
  });

  const refused: [string, RegExp][] = [
    ['http://h:6379', /unknown scheme.*redis\+sentinel/],
    ['redis+shard://a:1', /unknown scheme/],
    ['redis://a:1,b:2', /lists 2 hosts.*redis\+cluster/],
    ['redis+sentinel://a:1,b:2', /ends with the master name/],
    ['redis+sentinel://a:1,b:2/', /ends with the master name/],
    ['redis+cluster://a:1,b:2/3', /has no path/],
    ['redis+cluster://a:1,,b:2', /empty host/],
    ['redis://', /empty host/],
    ['redis://h:99999', /port of "h:99999" must be 1-65535/],
    ['redis://h:abc', /"h:abc" is not host:port/],
    ['redis://h/x', /database number/],
  ];
  for (const [url, message] of refused) {
    it(`refuses ${url} with a typed error saying why`, () => {
      assert.throws(
        () => parseRedisUrl(url),
        (err: unknown) => err instanceof RedisUrlError && err.code === 'REDIS_URL_INVALID' && message.test(err.message),
      );
    });
  }

  it('error messages and redaction never show the password', () => {
    assert.equal(redactRedisUrl('redis+cluster://u:secret@a:1,b:2'), 'redis+cluster://u:***@a:1,b:2');
    assert.equal(redactRedisUrl('rediss://:secret@h:1/0'), 'rediss://:***@h:1/0');
    assert.equal(redactRedisUrl('redis://h:1'), 'redis://h:1');
    assert.throws(
      () => parseRedisUrl('redis://u:secret@a:1,b:2'),
      (err: Error) => !err.message.includes('secret'),
    );
  });
});

describe('redisUrl and the partition count, at start-up', () => {
  it('the config accepts the three forms and refuses a bad one naming the setting', () => {
    for (const url of ['redis://h:1', 'redis+sentinel://a:1,b:2,c:3/m', 'rediss+cluster://a:1,b:2,c:3']) {
      assert.equal(loadConfig({ env: { FANIN_REDIS_URL: url } }).redisUrl, url);
    }
    assert.throws(
      () => loadConfig({ env: { FANIN_REDIS_URL: 'redis://a:1,b:2' } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /redisUrl \(environment variable FANIN_REDIS_URL\): .*lists 2 hosts/.test(err.message),
    );
  });

  it('a Redis Cluster with fewer than 3 partitions is refused, naming FANIN_WORKER_DEDUP_PARTITIONS and a value', () => {
    assert.throws(
      () => checkPartitionsFitMode('cluster', 1),
      (err: unknown) =>
        err instanceof ConfigError &&
        /FANIN_WORKER_DEDUP_PARTITIONS/.test(err.message) &&
        /16 or more/.test(err.message),
    );
    assert.doesNotThrow(() => checkPartitionsFitMode('cluster', 16));
    assert.doesNotThrow(() => checkPartitionsFitMode('single', 1));
    assert.doesNotThrow(() => checkPartitionsFitMode('sentinel', 1));
  });

  it('auto partitions follow the mode: 1 on one node or Sentinel, 16 on a cluster; the default is auto', () => {
    assert.equal(loadConfig({ env: {} }).dedupPartitions, 'auto');
    assert.equal(partitionsFor('single', 'auto'), 1);
    assert.equal(partitionsFor('sentinel', 'auto'), 1);
    assert.equal(partitionsFor('cluster', 'auto'), 16);
    assert.equal(partitionsFor('cluster', 32), 32);
    assert.equal(loadConfig({ env: { FANIN_WORKER_DEDUP_PARTITIONS: '8' } }).dedupPartitions, 8);
    assert.throws(() => partitionsFor('cluster', 2), ConfigError);
  });

  it('hashSlot follows the cluster specification (values from CLUSTER KEYSLOT)', () => {
    assert.equal(hashSlot('foo'), 12182);
    assert.equal(hashSlot('123456789'), 12739);
    assert.equal(hashSlot('ns:{p0}:e:abc'), hashSlot('p0'));
  });
});
