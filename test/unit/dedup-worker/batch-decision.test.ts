import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecisionFormatError, parseOccurrences } from '../../../dedup-worker/batch-decision.js';

/** The rule as first written: split, Number, then every item a non-negative integer and as many as expected. */
function reference(encoded: string, expected: number): number[] | 'error' {
  const out = encoded === '' ? [] : encoded.split(',').map(Number);
  if (out.length !== expected || out.some((n) => !Number.isInteger(n) || n < 0)) return 'error';
  return out;
}

function parsed(encoded: string, expected: number): number[] | 'error' {
  try {
    return parseOccurrences(encoded, expected);
  } catch (err) {
    assert.ok(err instanceof DecisionFormatError);
    return 'error';
  }
}

describe("parsing the dedup script's decisions", () => {
  it('reads what the script writes', () => {
    assert.deepEqual(parseOccurrences('1,0,2,0,13', 5), [1, 0, 2, 0, 13]);
    assert.deepEqual(parseOccurrences('', 0), []);
    assert.throws(() => parseOccurrences('1,0', 3), DecisionFormatError);
  });

  it('agrees with split and Number for any text, digits and commas or not', () => {
    const item = fc.oneof(
      fc.stringMatching(/^[0-9]{0,20}$/),
      fc.constantFrom('-1', '1.5', '1e3', '0x1f', ' 7', '', 'NaN', '9007199254740993', '١'),
    );
    const text = fc.oneof(
      fc.array(item, { maxLength: 12 }).map((items) => items.join(',')),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(text, fc.nat({ max: 14 }), (encoded, extra) => {
        const count = encoded === '' ? 0 : encoded.split(',').length;
        for (const expected of [count, extra])
          assert.deepEqual(parsed(encoded, expected), reference(encoded, expected));
      }),
      { numRuns: 2000 },
    );
  });
});
