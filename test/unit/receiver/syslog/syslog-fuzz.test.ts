// A short sample of the fuzzer (`npm run fuzz` runs a million inputs through the same generators and checks).
// Fixed seeds, so a failure here replays; FANIN_FUZZ_SEED picks another.

import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkFraming, checkParse, framingCaseArb, parseCaseArb } from '../../../../testkit/syslog-fuzz-generators.js';

const seed = Number(process.env.FANIN_FUZZ_SEED ?? 20260115);

describe('syslog fuzz sample', () => {
  it('parseSyslog never throws, never loses text, and answers the same twice (3000 generated lines)', () => {
    fc.assert(
      fc.property(parseCaseArb, (c) => {
        checkParse(c.line, c.now, c.zone);
      }),
      { seed, numRuns: 3000 },
    );
  });

  it('the frame decoder gives the same frames however a stream is split (1000 generated streams)', () => {
    fc.assert(
      fc.property(framingCaseArb, (c) => {
        checkFraming(c);
      }),
      { seed, numRuns: 1000 },
    );
  });
});
