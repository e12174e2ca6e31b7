import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeilingMs, backoffDelayMs } from '../../../shared/backoff.js';

const b = { initialDelayMs: 100, maxDelayMs: 1000 };

describe('the shared backoff (exponential, full jitter, capped)', () => {
  it('doubles the ceiling per attempt from the initial delay and stops at the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => backoffCeilingMs(a, b)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('treats attempt 0 or less as the first, and a huge attempt as the cap (no Infinity, no NaN)', () => {
    assert.equal(backoffCeilingMs(0, b), 100);
    assert.equal(backoffCeilingMs(-3, b), 100);
    assert.equal(backoffCeilingMs(1e9, b), 1000);
    assert.equal(
      backoffDelayMs(Number.MAX_SAFE_INTEGER, b, () => 0.999999),
      1000,
    );
  });

  it('draws uniformly from 0 to the ceiling, both ends included', () => {
    assert.equal(
      backoffDelayMs(3, b, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(3, b, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelayMs(3, b, () => 0.999999),
      400,
    );
    for (let attempt = 1; attempt <= 12; attempt++) {
      for (let i = 0; i < 200; i++) {
        const d = backoffDelayMs(attempt, b);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= backoffCeilingMs(attempt, b), `attempt ${attempt}: ${d} ms`);
      }
    }
  });

  it('spreads processes that retry at the same instant over the whole interval', () => {
    const draws = Array.from({ length: 400 }, () => backoffDelayMs(4, b));
    const low = draws.filter((d) => d < 400).length;
    const high = draws.filter((d) => d >= 400).length;
    assert.ok(low > 100 && high > 100, `${low} draws below half the ceiling, ${high} above`);
  });
});
