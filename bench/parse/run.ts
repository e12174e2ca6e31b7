/**
 * `npm run bench:parse`: lines per second through fanin's syslog parser and, in the same run, through the npm
 * parsers nsyslog-parser and glossy, over the syslog corpus (test/fixtures/syslog/corpus.jsonl), with the number
 * of corpus lines each gets right. Prints a table and writes bench/results/parse-latest.json.
 *
 * Speed: ROUNDS rounds; in each, every parser (in an order rotated per round, so none always runs first) parses
 * the whole corpus repeatedly for about ROUND_MS. Speed is lines per second of this process's CPU time (user +
 * system), which a busy machine disturbs far less than wall time; wall-clock lines/s are reported beside it. The
 * figures are medians over the rounds, and the speed-up is the median of the per-round ratios to the fastest npm
 * parser of that round. One warm-up round is not counted. A checksum keeps the work from being optimised away.
 *
 * Right: a line is right when facility, severity, time, hostname, app name and message all match the corpus's
 * expected fields — the subset every parser reports. Messages are compared without surrounding blanks (the npm
 * parsers trim them); a stamp without a year may get any year (each parser has its own policy); a line fanin
 * keeps raw is right for a parser that reports no PRI and the whole line as message. TZ is set to UTC, because
 * the npm parsers read zone-less stamps in the process's zone and the corpus expects UTC.
 *
 * Settings (environment): BENCH_PARSE_ROUNDS=9 BENCH_PARSE_ROUND_MS=400.
 */
process.env.TZ = 'UTC';

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_NOW, entryBytes, loadCorpus, type CorpusEntry, type ExpectedParse } from '../../test/syslog-corpus.js';
import { PARSERS, type BenchParser, type CommonFields } from './parsers.js';

const RESULTS = fileURLToPath(new URL('../../../bench/results/parse-latest.json', import.meta.url));
const ROUNDS = positiveInt('BENCH_PARSE_ROUNDS', 9);
const ROUND_MS = positiveInt('BENCH_PARSE_ROUND_MS', 400);

interface Line { entry: CorpusEntry; bytes: Buffer; text: string; now: Date }

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return v;
}

const lines: Line[] = loadCorpus()
  // Entries that need a zone option are about that option; every parser here runs with its defaults.
  .filter((entry) => entry.options?.rfc3164TimeZone === undefined)
  .map((entry) => {
    const bytes = entryBytes(entry);
    return { entry, bytes, text: bytes.toString('utf8'), now: new Date(entry.options?.now ?? CORPUS_NOW) };
  });

interface Sample { cpuRate: number; wallRate: number }

/** Lines per CPU-second and per wall-second of one timed pass of about ROUND_MS; `sink` keeps the results alive. */
function timeParser(parser: BenchParser, sink: { n: number }): Sample {
  let parsed = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now: bigint;
  do {
    for (const l of lines) {
      const r = parser.parse(l.bytes, l.text, l.now);
      if (r !== null && typeof r === 'object') sink.n++;
    }
    parsed += lines.length;
    now = process.hrtime.bigint();
  } while (now < deadline);
  const cpu = process.cpuUsage(cpu0);
  return { cpuRate: (parsed * 1e6) / (cpu.user + cpu.system), wallRate: (parsed * 1e9) / Number(now - start) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function isRight(line: Line, got: CommonFields): boolean {
  const want = line.entry.expect;
  if (want.format === 'raw') return got.facility === null && got.message?.trim() === line.text.trim();
  const w: ExpectedParse = want;
  return got.facility === w.facility && got.severity === w.severity && got.hostname === w.hostname
    && got.appName === w.appName && (got.message ?? '').trim() === w.message.trim() && sameTime(line, w.time, got.timeMs);
}

function sameTime(line: Line, want: string | null, got: number | null): boolean {
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
  const roundRates = new Map<string, number>();
  for (let k = 0; k < PARSERS.length; k++) {
    const parser = PARSERS[(round + k) % PARSERS.length]!;
    const sample = timeParser(parser, sink);
    roundRates.set(parser.name, sample.cpuRate);
    if (round > 0) samples.get(parser.name)!.push(sample);
  }
  const npmBest = Math.max(...PARSERS.filter((p) => p.name !== 'fanin').map((p) => roundRates.get(p.name)!));
  if (round > 0) speedups.push(roundRates.get('fanin')! / npmBest);
}

const rows = PARSERS.map((p) => {
  const right = lines.filter((l) => isRight(l, p.fields(p.parse(l.bytes, l.text, l.now), l.text))).length;
  const cpu = samples.get(p.name)!.map((s) => s.cpuRate);
  const wall = samples.get(p.name)!.map((s) => s.wallRate);
  return {
    parser: p.name, version: p.version, linesPerCpuSecond: Math.round(median(cpu)), minCpu: Math.round(Math.min(...cpu)),
    maxCpu: Math.round(Math.max(...cpu)), linesPerWallSecond: Math.round(median(wall)), right, lines: lines.length,
  };
});
const speedup = median(speedups);
const fmt = (n: number) => n.toLocaleString('en-US');

console.log(`syslog parse benchmark: ${lines.length} corpus lines, median of ${ROUNDS} rounds of ${ROUND_MS} ms per parser, node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg()[0]!.toFixed(1)}`);
console.log('');
console.log('| parser | version | lines/CPU-s (median) | min..max | lines/s wall (median) | right |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.parser} | ${r.version} | ${fmt(r.linesPerCpuSecond)} | ${fmt(r.minCpu)}..${fmt(r.maxCpu)} | ${fmt(r.linesPerWallSecond)} | ${r.right}/${r.lines} |`);
}
console.log('');
console.log(`fanin is ${speedup.toFixed(1)}x the fastest npm parser (median of per-round ratios ${speedups.map((x) => x.toFixed(1)).sort().join(' ')}; checksum ${sink.n})`);

mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify({
  at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null,
  loadAverage: os.loadavg()[0], rounds: ROUNDS, roundMs: ROUND_MS, lines: lines.length,
  speedupOverFastestNpm: Number(speedup.toFixed(2)), perRoundSpeedups: speedups.map((x) => Number(x.toFixed(2))), parsers: rows,
}, null, 2)}\n`);
