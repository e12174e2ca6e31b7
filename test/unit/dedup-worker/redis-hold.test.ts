import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisHold, type HoldTimers, type RedisDownMode } from '../../../dedup-worker/redis-hold.js';

/** Timers that fire only when the test advances the clock. */
class FakeClock implements HoldTimers {
  now = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];
  private nextId = 0;
  /** Every delay ever asked for, in order. */
  readonly delays: number[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.delays.push(ms);
    this.timers.push({ id, at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves the clock on, firing what falls due (bounded: a timer that re-arms itself at 0 ms cannot spin forever). */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (let fired = 0; fired < 1000; fired++) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.now = next.at;
      next.fn();
      await settle();
    }
    this.now = until;
  }
}

/** Lets promise callbacks (a probe's answer) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** A probe whose every call the test answers: `next` is the outcome of the following calls. */
function scriptedProbe() {
  const p = { calls: 0, next: 'fail' as 'ok' | 'fail' | 'hang', release: null as (() => void) | null };
  const probe = () => {
    p.calls++;
    if (p.next === 'ok') return Promise.resolve();
    if (p.next === 'fail') return Promise.reject(new Error('OOM command not allowed'));
    return new Promise<void>((resolve) => {
      p.release = resolve;
    });
  };
  return { p, probe };
}

function holdWith(mode: RedisDownMode, random = () => 0.999999) {
  const clock = new FakeClock();
  const { p, probe } = scriptedProbe();
  const redis = { ready: true };
  const hold = new RedisHold({ mode, probe, isRedisReady: () => redis.ready, timers: clock, random });
  const events: string[] = [];
  hold.on('hold', (reason) => events.push(`hold:${reason}`));
  hold.on('resume', () => events.push('resume'));
  return { hold, clock, p, redis, events };
}

describe('the Redis hold-and-probe (hold mode)', () => {
  it('allows consuming while Redis is ready and nothing failed', () => {
    const { hold, redis } = holdWith('hold');
    assert.equal(hold.allowsConsuming, true);
    redis.ready = false;
    assert.equal(hold.allowsConsuming, false, 'a client that is not ready cannot decide batches');
  });

  it('holds once on a failure, probes with backing-off delays, and resumes when a probe succeeds', async () => {
    const { hold, clock, p, events } = holdWith('hold');
    hold.redisLost('redis unavailable');
    hold.redisLost('redis connection closed'); // already holding: no second event, no second probe chain
    assert.deepEqual(events, ['hold:redis unavailable']);
    assert.equal(hold.holding, true);
    assert.equal(hold.allowsConsuming, false);
    assert.equal(clock.pending, 1);

    await clock.advance(500 + 1000 + 2000 + 4000 + 5000);
    assert.equal(p.calls, 5);
    assert.deepEqual(clock.delays, [500, 1000, 2000, 4000, 5000, 5000], 'ceilings double from 500 ms and stop at 5 s');
    assert.equal(hold.allowsConsuming, false);

    p.next = 'ok';
    await clock.advance(5000);
    assert.equal(p.calls, 6);
    assert.deepEqual(events, ['hold:redis unavailable', 'resume']);
    assert.equal(hold.holding, false);
    assert.equal(hold.allowsConsuming, true);
    assert.equal(clock.pending, 0, 'no probe after the hold ended');
  });

  it('draws every probe delay with jitter within its ceiling, and starts again from the first after a resume', async () => {
    const { hold, clock, p } = holdWith('hold', () => 0.5);
    hold.redisLost('redis connection ended');
    await clock.advance(250 + 500 + 1000);
    assert.deepEqual(clock.delays, [250, 500, 1000, 2000]);
    p.next = 'ok';
    await clock.advance(2000);
    assert.equal(hold.holding, false);
    p.next = 'fail';
    hold.redisLost('redis unavailable');
    assert.equal(clock.delays.at(-1), 250, 'a new hold starts from the first delay');
  });

  it('ends a hold at once when the client reports ready, and a late probe answer changes nothing', async () => {
    const { hold, clock, p, events } = holdWith('hold');
    hold.redisLost('redis connection closed');
    p.next = 'hang';
    await clock.advance(500);
    assert.equal(p.calls, 1, 'a probe is running');
    hold.redisReady();
    assert.deepEqual(events, ['hold:redis connection closed', 'resume']);
    assert.equal(hold.allowsConsuming, true);
    p.release!();
    await settle();
    assert.deepEqual(
      events,
      ['hold:redis connection closed', 'resume'],
      'the probe that answered late resumed nothing twice',
    );
    assert.equal(clock.pending, 0);
  });

  it('asks the consumer to try again on ready even when it was not holding (first connect)', () => {
    const { hold, events } = holdWith('hold');
    hold.redisReady();
    assert.deepEqual(events, ['resume']);
  });

  it("restarts the client's connection after every 8 failed probes in a row, and not once a probe succeeds", async () => {
    const clock = new FakeClock();
    const { p, probe } = scriptedProbe();
    let revived = 0;
    const hold = new RedisHold({
      mode: 'hold',
      probe,
      isRedisReady: () => false,
      timers: clock,
      random: () => 0.999999,
      revive: () => {
        revived++;
      },
    });
    hold.redisLost('redis connection closed');
    await clock.advance(500 + 1000 + 2000 + 4000 + 5000 * 3);
    assert.equal(p.calls, 7);
    assert.equal(revived, 0, 'seven failures: the client may still be on its way back');
    await clock.advance(5000);
    assert.equal(p.calls, 8);
    assert.equal(revived, 1, 'the eighth failure restarts the connection');
    await clock.advance(5000 * 8);
    assert.equal(revived, 2, 'and every eighth after');
    p.next = 'ok';
    await clock.advance(5000);
    assert.equal(hold.holding, false);
    await clock.advance(60_000);
    assert.equal(revived, 2);
  });

  it('stops for good on a drain: no probe, no event, no consuming', async () => {
    const { hold, clock, p, events } = holdWith('hold');
    hold.redisLost('redis unavailable');
    hold.stop();
    assert.equal(clock.pending, 0);
    await clock.advance(60_000);
    assert.equal(p.calls, 0);
    hold.redisReady();
    hold.redisLost('redis connection ended');
    assert.deepEqual(events, ['hold:redis unavailable']);
    assert.equal(hold.allowsConsuming, false);
  });
});

describe('the Redis hold-and-probe (pass-through mode)', () => {
  it('never holds nor probes, and lets the worker consume with Redis away', async () => {
    const { hold, clock, p, redis, events } = holdWith('pass-through');
    redis.ready = false;
    hold.redisLost('redis connection closed');
    await clock.advance(60_000);
    assert.deepEqual(events, []);
    assert.equal(p.calls, 0);
    assert.equal(hold.holding, false);
    assert.equal(hold.allowsConsuming, true);
    hold.stop();
    assert.equal(hold.allowsConsuming, false, 'a drain stops pass-through consuming too');
  });
});
