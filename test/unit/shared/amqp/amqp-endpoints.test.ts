import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROKER_BACKOFF,
  BrokerUrlError,
  nextEndpointIndex,
  parseAmqpUrls,
  redactUrl,
  shuffledEndpoints,
} from '../../../../shared/amqp/broker-endpoints.js';
import { backoffCeilingMs, backoffDelayMs } from '../../../../shared/backoff.js';
import { ConfigError } from '../../../../shared/config/config-error.js';
import { loadConfig } from '../../../../shared/config/load-config.js';

/** A deterministic stand-in for Math.random: cycles through the given values. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('amqpUrl as a list of brokers', () => {
  it('parses one URL as a list of one, unchanged', () => {
    assert.deepEqual(parseAmqpUrls('amqp://guest:guest@127.0.0.1:5672'), ['amqp://guest:guest@127.0.0.1:5672']);
  });

  it('splits a comma-separated list and trims blanks around entries', () => {
    assert.deepEqual(parseAmqpUrls('amqp://a:5672, amqps://u:p@b:5671/vh ,amqp://c'), [
      'amqp://a:5672',
      'amqps://u:p@b:5671/vh',
      'amqp://c',
    ]);
  });

  it('names the bad entry, with its password hidden', () => {
    assert.throws(
      () => parseAmqpUrls('amqp://a:5672,http://u:secret@b:80'),
      (err: unknown) => {
        assert.ok(err instanceof BrokerUrlError);
        assert.match(err.message, /"http:\/\/u:\*\*\*@b(:80)?\/?" has scheme "http:"/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
    assert.throws(() => parseAmqpUrls('amqp://a,not a url'), /"<invalid url>" is not a URL/);
    assert.throws(() => parseAmqpUrls('amqp://a,,amqp://b'), /empty entry/);
    assert.throws(() => parseAmqpUrls('amqp://a,'), /empty entry/);
    assert.throws(() => parseAmqpUrls(' '), /is empty/);
  });

  it('is validated at start-up through FANIN_AMQP_URL, without echoing a password', () => {
    const ok = loadConfig({ env: { FANIN_AMQP_URL: 'amqp://u:p@n1:5672,amqp://u:p@n2:5672' } });
    assert.equal(ok.amqpUrl, 'amqp://u:p@n1:5672,amqp://u:p@n2:5672');
    assert.throws(
      () => loadConfig({ env: { FANIN_AMQP_URL: 'amqp://u:hunter2@n1:5672,ftp://u:hunter2@n2' } }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /amqpUrl \(environment variable FANIN_AMQP_URL\): amqpUrl entry "ftp:\/\/u:\*\*\*@n2\/?" has scheme "ftp:"/,
        );
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
  });

  it('redacts every password of a list', () => {
    assert.equal(
      redactUrl('amqp://u:p1@a:1,amqp://b:2,amqp://v:p2@c:3'),
      'amqp://u:***@a:1,amqp://b:2,amqp://v:***@c:3',
    );
  });

  it('takes the replication factor from FANIN_QUORUM_INITIAL_GROUP_SIZE, default 3, at least 1', () => {
    assert.equal(loadConfig({ env: {} }).quorumInitialGroupSize, 3);
    assert.equal(loadConfig({ env: { FANIN_QUORUM_INITIAL_GROUP_SIZE: '5' } }).quorumInitialGroupSize, 5);
    assert.throws(() => loadConfig({ env: { FANIN_QUORUM_INITIAL_GROUP_SIZE: '0' } }), /quorumInitialGroupSize/);
  });
});

describe('endpoint order', () => {
  it('shuffles a copy and keeps every endpoint once', () => {
    const urls = ['amqp://a', 'amqp://b', 'amqp://c'];
    const shuffled = shuffledEndpoints(urls, sequence(0.1, 0.9, 0.5));
    assert.deepEqual([...shuffled].sort(), urls);
    assert.deepEqual(urls, ['amqp://a', 'amqp://b', 'amqp://c']);
  });

  it('spreads the first endpoint of many processes over all nodes', () => {
    const urls = ['amqp://a', 'amqp://b', 'amqp://c'];
    const firsts = new Map<string, number>();
    for (let p = 0; p < 3000; p++) {
      const first = shuffledEndpoints(urls)[0]!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    assert.equal(firsts.size, 3);
    for (const [url, n] of firsts) assert.ok(n > 800 && n < 1200, `${url} first in ${n} of 3000 processes`);
  });

  it('leaves a single URL alone', () => {
    assert.deepEqual(
      shuffledEndpoints(['amqp://only'], () => 0.99),
      ['amqp://only'],
    );
  });

  it('fails over to the next endpoint, round the list', () => {
    assert.deepEqual(
      [0, 1, 2].map((i) => nextEndpointIndex(i, 3)),
      [1, 2, 0],
    );
    assert.equal(nextEndpointIndex(0, 1), 0);
  });
});

describe('reconnect backoff', () => {
  it('draws the first delay within 200 ms and doubles the ceiling up to 10 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffCeilingMs(a, BROKER_BACKOFF)),
      [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000],
    );
    for (let attempt = 1; attempt <= 40; attempt++) {
      for (const r of [0, 0.5, 0.999999]) {
        const d = backoffDelayMs(attempt, BROKER_BACKOFF, () => r);
        assert.ok(
          d >= 0 && d <= Math.min(10_000, 200 * 2 ** (attempt - 1)),
          `attempt ${attempt}, random ${r}: ${d} ms`,
        );
      }
    }
    assert.equal(
      backoffDelayMs(40, BROKER_BACKOFF, () => 0.999999),
      10_000,
    );
  });

  it('is jittered: processes that lost the same node do not return in step', () => {
    const draws = new Set(Array.from({ length: 50 }, () => backoffDelayMs(3, BROKER_BACKOFF)));
    assert.ok(draws.size > 10, `${draws.size} distinct delays in 50 draws`);
  });
});
