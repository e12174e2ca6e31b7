/**
 * `npm run bench:parse`: lines per second through fanin's syslog parser and, in the same run, through the npm
 * parsers nsyslog-parser and glossy, over the syslog corpus (test/fixtures/syslog/corpus.jsonl), with the number
 * of corpus lines each gets right. Prints a table and writes bench/results/parse-latest.json.
 *
 * Speed: ROUNDS rounds; in each, every parser parses the whole corpus repeatedly for about ROUND_MS in all, in
 * SLICES short slices that take turns (in an order rotated per slice, so none always runs first): on a shared,
 * noisy machine the parsers of one round then see the same moments of it, where whole back-to-back turns of
 * ROUND_MS each saw a different one (per-round ratios spread from 2.5 to 6.4 with those on this 2-core VM). Speed
 * is lines per second of this process's CPU time (user + system), which a busy machine disturbs far less than wall
 * time; wall-clock lines/s are reported beside it. The figures are medians over the rounds, and the speed-up is the
 * median of the per-round ratios to the fastest npm parser of that round. One warm-up round is not counted. A
 * checksum keeps the work from being optimised away. Each parser runs in a loop of its own (makeTimeSlice).
 *
 * Runtime: `npm run bench:parse` runs this under the Node flags every fanin process runs with (32 MiB semi-spaces:
 * cli/fleet/member-command.ts, deploy/Dockerfile, the systemd units), so the parser is measured as deployed; the
 * npm parsers share the process and its flags. The flags are printed and kept in the results.
 *
 * Right: a line is right when facility, severity, time, hostname, app name and message all match the corpus's
 * expected fields — the subset every parser reports. Messages are compared without surrounding blanks (the npm
 * parsers trim them); a stamp without a year may get any year (each parser has its own policy); a line fanin
 * keeps raw is right for a parser that reports no PRI and the whole line as message. TZ is set to UTC, because
 * the npm parsers read zone-less stamps in the process's zone and the corpus expects UTC.
 *
 * Settings (environment): BENCH_PARSE_ROUNDS=9 BENCH_PARSE_ROUND_MS=400 BENCH_PARSE_SLICES=16.
 */
process.env.TZ = 'UTC';

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedParse } from '../../testkit/syslog-corpus.js';
import { median, positiveIntSetting } from '../lib/bench-numbers.js';
import { separateCopy } from '../lib/separate-copy.js';
import { PARSERS, benchLines, type BenchLine, type BenchParser, type CommonFields } from './parsers.js';

const RESULTS = fileURLToPath(new URL('../../../bench/results/parse-latest.json', import.meta.url));
const ROUNDS = positiveIntSetting('BENCH_PARSE_ROUNDS', 9);
const ROUND_MS = positiveIntSetting('BENCH_PARSE_ROUND_MS', 400);
const SLICES = positiveIntSetting('BENCH_PARSE_SLICES', 16);

const lines: BenchLine[] = benchLines();
/** The Node flags of this run: `npm run bench:parse` gives the ones every fanin process runs with. */
const NODE_FLAGS = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(' ')].filter(Boolean).join(' ');

interface Sample {
  cpuRate: number;
  wallRate: number;
}

/** What one parser did in one round: lines parsed, CPU and wall time spent, summed over its slices. */
interface Tally {
  parsed: number;
  cpuMicros: number;
  wallNanos: bigint;
}

type TimeSlice = (parser: BenchParser, tally: Tally, sink: { n: number }) => void;

/** Adds one timed slice of about ROUND_MS / SLICES to `tally`; `sink` keeps the results alive. */
const TIME_SLICE = `return function timeSlice(parser, tally, sink) {
  let parsed = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + sliceNanos;
  let now;
  do {
    for (const l of lines) {
      const r = parser.parse(l.bytes, l.text, l.now);
      if (r !== null && typeof r === 'object') sink.n++;
    }
    parsed += lines.length;
    now = process.hrtime.bigint();
  } while (now < deadline);
  const cpu = process.cpuUsage(cpu0);
  tally.parsed += parsed;
  tally.cpuMicros += cpu.user + cpu.system;
  tally.wallNanos += now - start;
};`;

/** A copy of the slice loop for one parser (separateCopy), so that the parsers are timed alike. */
function makeTimeSlice(): TimeSlice {
  const sliceNanos = BigInt(Math.max(1, Math.round((ROUND_MS * 1e6) / SLICES)));
  return separateCopy<TimeSlice>(['lines', 'sliceNanos'], TIME_SLICE, [lines, sliceNanos]);
}

const timeSlices = new Map<string, TimeSlice>(PARSERS.map((p) => [p.name, makeTimeSlice()]));

function rates(t: Tally): Sample {
  return { cpuRate: (t.parsed * 1e6) / t.cpuMicros, wallRate: (t.parsed * 1e9) / Number(t.wallNanos) };
}

function isRight(line: BenchLine, got: CommonFields): boolean {
  const want = line.entry.expect;
  if (want.format === 'raw') return got.facility === null && got.message?.trim() === line.text.trim();
  const w: ExpectedParse = want;
  return (
    got.facility === w.facility &&
    got.severity === w.severity &&
    got.hostname === w.hostname &&
    got.appName === w.appName &&
    (got.message ?? '').trim() === w.message.trim() &&
    sameTime(line, w.time, got.timeMs)
  );
}

function sameTime(line: BenchLine, want: string | null, got: number | null): boolean {
  if (want === null || got === null) return want === null && got === null;
  const w = new Date(want);
  if (w.getTime() === got) return true;
  // A year the line does not carry is each parser's guess: accept any year for the same month, day and time.
  const g = new Date(got);
  return !line.text.includes(String(w.getUTCFullYear())) && w.toISOString().slice(4) === g.toISOString().slice(4);
}

const sink = { n: 0 };
const samples = new Map<string, Sample[]>(PARSERS.map((p) => [p.name, []]));
const speedups: number[] = [];
for (let round = 0; round <= ROUNDS; round++) {
  const tallies = new Map<string, Tally>(PARSERS.map((p) => [p.name, { parsed: 0, cpuMicros: 0, wallNanos: 0n }]));
  for (let slice = 0; slice < SLICES; slice++) {
    for (let k = 0; k < PARSERS.length; k++) {
      const parser = PARSERS[(round * SLICES + slice + k) % PARSERS.length]!;
      timeSlices.get(parser.name)!(parser, tallies.get(parser.name)!, sink);
    }
  }
  if (round === 0) continue;
  const roundRates = new Map<string, number>();
  for (const p of PARSERS) {
    const sample = rates(tallies.get(p.name)!);
    roundRates.set(p.name, sample.cpuRate);
    samples.get(p.name)!.push(sample);
  }
  const npmBest = Math.max(...PARSERS.filter((p) => p.name !== 'fanin').map((p) => roundRates.get(p.name)!));
  speedups.push(roundRates.get('fanin')! / npmBest);
}

const rows = PARSERS.map((p) => {
  const right = lines.filter((l) => isRight(l, p.fields(p.parse(l.bytes, l.text, l.now), l.text))).length;
  const cpu = samples.get(p.name)!.map((s) => s.cpuRate);
  const wall = samples.get(p.name)!.map((s) => s.wallRate);
  return {
    parser: p.name,
    version: p.version,
    linesPerCpuSecond: Math.round(median(cpu)),
    minCpu: Math.round(Math.min(...cpu)),
    maxCpu: Math.round(Math.max(...cpu)),
    linesPerWallSecond: Math.round(median(wall)),
    right,
    lines: lines.length,
  };
});
const speedup = median(speedups);
const fmt = (n: number) => n.toLocaleString('en-US');

console.log(
  `syslog parse benchmark: ${lines.length} corpus lines, median of ${ROUNDS} rounds of ${ROUND_MS} ms per parser in ${SLICES} alternating slices, node ${process.version} ${NODE_FLAGS || '(no flags)'}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg()[0]!.toFixed(1)}`,
);
console.log('');
console.log('| parser | version | lines/CPU-s (median) | min..max | lines/s wall (median) | right |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.parser} | ${r.version} | ${fmt(r.linesPerCpuSecond)} | ${fmt(r.minCpu)}..${fmt(r.maxCpu)} | ${fmt(r.linesPerWallSecond)} | ${r.right}/${r.lines} |`,
  );
}
console.log('');
console.log(
  `fanin is ${speedup.toFixed(2)}x the fastest npm parser (median of per-round ratios ${speedups
    .map((x) => x.toFixed(2))
    .sort()
    .join(' ')}; checksum ${sink.n})`,
);

mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(
  RESULTS,
  `${JSON.stringify(
    {
      at: new Date().toISOString(),
      node: process.version,
      nodeFlags: NODE_FLAGS,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? null,
      loadAverage: os.loadavg()[0],
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      slices: SLICES,
      lines: lines.length,
      speedupOverFastestNpm: Number(speedup.toFixed(2)),
      perRoundSpeedups: speedups.map((x) => Number(x.toFixed(2))),
      parsers: rows,
    },
    null,
    2,
  )}\n`,
);
