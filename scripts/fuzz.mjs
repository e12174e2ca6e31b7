#!/usr/bin/env node
// `npm run fuzz`: a million generated syslog lines through parseSyslog and a quarter million generated streams
// through the RFC 6587 frame decoder, with the generators and checks of testkit/syslog-fuzz-generators.ts (npm test
// runs a short sample of the same). Runs over dist/, so build first (the npm script does).
//
// The seed is printed first; FANIN_FUZZ_SEED=<n> replays a run. FANIN_FUZZ_LINES and FANIN_FUZZ_STREAMS change
// the counts. Memory is sampled while it runs; the run fails if the RSS passes FANIN_FUZZ_MAX_RSS_MB (512).
// Exit status 1 on any failed check, with fast-check's counterexample and the seed and path that replay it.

import fc from 'fast-check';
import { checkFraming, checkParse, framingCaseArb, parseCaseArb } from '../dist/testkit/syslog-fuzz-generators.js';

const seed = Number(process.env.FANIN_FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
const lines = Number(process.env.FANIN_FUZZ_LINES ?? 1_000_000);
const streams = Number(process.env.FANIN_FUZZ_STREAMS ?? 250_000);
const maxRssMb = Number(process.env.FANIN_FUZZ_MAX_RSS_MB ?? 512);
const mb = (bytes) => (bytes / 1048576).toFixed(1);

console.log(
  `fuzz seed ${seed} (FANIN_FUZZ_SEED=${seed} replays it): ${lines} lines, ${streams} streams, node ${process.version}`,
);
const startRss = process.memoryUsage().rss;
let peakRss = startRss;
let raw = 0;
let done = 0;

function sample() {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
  if (rss > maxRssMb * 1048576) throw new Error(`RSS ${mb(rss)} MiB passed the ${maxRssMb} MiB bound`);
}

function run(name, arbitrary, check, numRuns) {
  const t0 = process.hrtime.bigint();
  done = 0;
  const result = fc.check(
    fc.property(arbitrary, (c) => {
      check(c);
      if (++done % 20_000 === 0) {
        sample();
        if (done % 200_000 === 0)
          console.log(`  ${name}: ${done} / ${numRuns}, rss ${mb(process.memoryUsage().rss)} MiB`);
      }
    }),
    { seed, numRuns },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (result.failed) {
    console.error(fc.defaultReportMessage(result));
    console.error(`FAILED: ${name}; replay with FANIN_FUZZ_SEED=${seed}`);
    process.exit(1);
  }
  console.log(`${name}: ${numRuns} inputs in ${seconds.toFixed(1)} s (${Math.round(numRuns / seconds)}/s), no failure`);
}

run(
  'parseSyslog',
  parseCaseArb,
  (c) => {
    if (!checkParse(c.line, c.now, c.zone).ok) raw++;
  },
  lines,
);
console.log(`  (${raw} of them travelled raw, the rest parsed)`);
run('frame decoder', framingCaseArb, checkFraming, streams);

sample();
globalThis.gc?.();
const end = process.memoryUsage();
console.log(
  `memory: rss ${mb(startRss)} MiB at start, peak ${mb(peakRss)} MiB (bound ${maxRssMb}), ${mb(end.rss)} MiB at end; heap used ${mb(end.heapUsed)} MiB`,
);
console.log(`total ${lines + streams} generated inputs, seed ${seed}: OK`);
