/**
 * `npm run bench:parse:ab -- <other-dist>`: two builds of fanin's syslog parser side by side, in one process, over
 * the syslog corpus; for deciding whether a change to the parser is faster. `<other-dist>` is the compiled output
 * of another version (a directory with receiver/syslog/parse-syslog.js), made for example with
 * `git worktree add /tmp/parse-old <commit>` and, in it, `npx tsc -p tsconfig.json --outDir /tmp/parse-old/dist`
 * (node_modules linked from this checkout). The second build is this checkout's dist unless a second directory is
 * given. Parsing needs no packages, so copying an old dist/receiver and dist/shared somewhere also works.
 *
 * First it checks that both builds return the same results for every corpus line (compared as JSON) and lists the
 * lines where they do not. Then, in each of ROUNDS rounds, the two builds take turns in SLICES slices of SLICE_MS
 * each (who goes first alternates), so both see the same moments of a shared, noisy machine; a round's figure is
 * the ratio of the second build's lines per CPU-second to the first's. It prints the median ratio over the rounds
 * (above 1: the second build is faster) with the lowest and highest. One warm-up round is not counted. Single
 * rounds on a loaded machine spread widely, and whole processes more, since each settles into its own state of the
 * optimiser: decide on several processes (8 of 10 rounds, say), alternating which build is first, and take the
 * geometric mean of their medians.
 *
 * Settings (environment): BENCH_AB_ROUNDS=40 BENCH_AB_SLICES=12 BENCH_AB_SLICE_MS=25.
 */
process.env.TZ = 'UTC';

import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { parseSyslog as ParseSyslog } from '../../receiver/syslog/parse-syslog.js';
import { median, positiveIntSetting } from '../lib/bench-numbers.js';
import { separateCopy } from '../lib/separate-copy.js';
import { benchLines, type BenchLine } from './parsers.js';

type Parse = typeof ParseSyslog;

const ROUNDS = positiveIntSetting('BENCH_AB_ROUNDS', 40);
const SLICES = positiveIntSetting('BENCH_AB_SLICES', 12);
const SLICE_MS = positiveIntSetting('BENCH_AB_SLICE_MS', 25);
const THIS_DIST = fileURLToPath(new URL('../..', import.meta.url));

async function loadParser(dist: string): Promise<Parse> {
  const url = pathToFileURL(resolve(dist, 'receiver/syslog/parse-syslog.js')).href;
  return ((await import(url)) as { parseSyslog: Parse }).parseSyslog;
}

const [firstDir, secondDir = THIS_DIST] = process.argv.slice(2);
if (firstDir === undefined) {
  console.error('usage: node dist/bench/parse/ab.js <first-dist> [<second-dist>]');
  process.exit(2);
}
const first = await loadParser(firstDir);
const second = await loadParser(secondDir);
const lines: BenchLine[] = benchLines();

let differing = 0;
for (const l of lines) {
  const a = JSON.stringify(first(l.bytes, { now: l.now }));
  const b = JSON.stringify(second(l.bytes, { now: l.now }));
  if (a === b) continue;
  differing++;
  if (differing <= 5) console.log(`results differ for ${JSON.stringify(l.text)}:\n  ${a}\n  ${b}`);
}

/** What one build did in one round: lines parsed and CPU microseconds spent, summed over its slices. */
interface Tally {
  parsed: number;
  cpuMicros: number;
}

const sink = { n: 0 };

type TimeSlice = (parse: Parse, tally: Tally) => void;

/** Parses the corpus over and over for about SLICE_MS, adding to `tally`; one copy per build (separateCopy). */
const TIME_SLICE = `return function timeSlice(parse, tally) {
  let parsed = 0;
  const cpu0 = process.cpuUsage();
  const deadline = process.hrtime.bigint() + sliceNanos;
  do {
    for (const l of lines) if (parse(l.bytes, { now: l.now }).ok) sink.n++;
    parsed += lines.length;
  } while (process.hrtime.bigint() < deadline);
  const cpu = process.cpuUsage(cpu0);
  tally.parsed += parsed;
  tally.cpuMicros += cpu.user + cpu.system;
};`;

function makeTimeSlice(): TimeSlice {
  return separateCopy<TimeSlice>(['lines', 'sliceNanos', 'sink'], TIME_SLICE, [lines, BigInt(SLICE_MS * 1e6), sink]);
}

const sliceFirst = makeTimeSlice();
const sliceSecond = makeTimeSlice();

const ratios: number[] = [];
for (let round = 0; round <= ROUNDS; round++) {
  const a: Tally = { parsed: 0, cpuMicros: 0 };
  const b: Tally = { parsed: 0, cpuMicros: 0 };
  for (let slice = 0; slice < SLICES; slice++) {
    if ((round + slice) % 2 === 0) {
      sliceFirst(first, a);
      sliceSecond(second, b);
    } else {
      sliceSecond(second, b);
      sliceFirst(first, a);
    }
  }
  if (round > 0) ratios.push(b.parsed / b.cpuMicros / (a.parsed / a.cpuMicros));
}

console.log(
  `second / first, lines per CPU-second: median ${median(ratios).toFixed(3)} over ${ROUNDS} rounds ` +
    `(min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); ` +
    `${lines.length} corpus lines, ${differing} with different results (checksum ${sink.n})`,
);
