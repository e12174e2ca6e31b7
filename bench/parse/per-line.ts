/**
 * `npm run bench:parse:lines`: where fanin's parse time goes, line by line. For each corpus line it measures fanin,
 * glossy (the fastest npm parser in bench:parse) and a floor: the least any parser of Buffers must do for that line
 * (decode it once and build the result objects, with no parsing). It prints the totals and the lines with the most
 * time above the floor, so that work on the parser starts where the time is.
 *
 * Each line is parsed ITERATIONS times in a row, in ROUNDS rounds, and the median of its rounds is kept; the same
 * line over and over is kinder to the branch predictor than bench:parse's cycle through the corpus, so the totals
 * here come out lower than bench:parse's and only the shares and ratios compare. CPU time of this process.
 *
 * Settings (environment): BENCH_LINES_ROUNDS=7 BENCH_LINES_ITERATIONS=2000 BENCH_LINES_SHOW=30.
 */
process.env.TZ = 'UTC';

import { NO_DIGITS, formatIso } from '../../receiver/syslog/syslog-time.js';
import { median, positiveIntSetting } from '../lib/bench-numbers.js';
import { PARSERS, benchLines, type BenchLine, type BenchParser } from './parsers.js';

const ROUNDS = positiveIntSetting('BENCH_LINES_ROUNDS', 7);
const ITERATIONS = positiveIntSetting('BENCH_LINES_ITERATIONS', 2000);
const SHOW = positiveIntSetting('BENCH_LINES_SHOW', 30);

const lines: BenchLine[] = benchLines();

/**
 * The floor: one decode of the line and the result objects a parser returns (a formatted time and three fields
 * cut from the text), with no parsing. fanin cannot go below it without leaving out work its callers need.
 */
const floor: BenchParser = {
  name: 'floor',
  version: '-',
  parse(bytes) {
    const text = bytes.toString();
    return {
      ok: true,
      message: {
        format: 'rfc3164',
        facility: 1,
        severity: 5,
        time: formatIso(2026, 1, 2, 3, 4, 5, NO_DIGITS, 0, 0),
        hostname: text.slice(5, 9),
        appName: text.slice(10, 14),
        procId: null,
        msgId: null,
        structuredData: null,
        message: text.slice(20),
      },
    };
  },
  fields: () => ({ facility: null, severity: null, timeMs: null, hostname: null, appName: null, message: null }),
};

const fanin = PARSERS.find((p) => p.name === 'fanin')!;
const glossy = PARSERS.find((p) => p.name === 'glossy')!;
const measured = [fanin, glossy, floor];
let sink = 0;

/** CPU nanoseconds per parse of `line` by `parser`, over ITERATIONS parses in a row. */
function nanosPerParse(parser: BenchParser, line: BenchLine): number {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) if (parser.parse(line.bytes, line.text, line.now) !== null) sink++;
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / ITERATIONS;
}

// Warm-up: every parser through the whole corpus until its hot functions are optimised.
for (let r = 0; r < 200; r++)
  for (const line of lines) for (const p of measured) p.parse(line.bytes, line.text, line.now);

const samples = lines.map(() => measured.map((): number[] => []));
for (let round = 0; round < ROUNDS; round++) {
  lines.forEach((line, i) => measured.forEach((p, k) => samples[i]![k]!.push(nanosPerParse(p, line))));
}
const rows = lines.map((line, i) => {
  const [f, g, z] = samples[i]!.map(median) as [number, number, number];
  return { line, fanin: f, glossy: g, floor: z };
});

const sum = (pick: (r: (typeof rows)[number]) => number, format?: string) =>
  rows.filter((r) => format === undefined || r.line.entry.expect.format === format).reduce((t, r) => t + pick(r), 0);
console.log(
  `syslog parse time per line: ${lines.length} corpus lines, median of ${ROUNDS} rounds of ${ITERATIONS} parses, node ${process.version}`,
);
console.log('');
console.log('| lines | n | fanin ns | glossy ns | floor ns | glossy / fanin | glossy / floor |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const format of [undefined, 'rfc5424', 'rfc3164', 'raw']) {
  const n = rows.filter((r) => format === undefined || r.line.entry.expect.format === format).length;
  const f = sum((r) => r.fanin, format);
  const g = sum((r) => r.glossy, format);
  const z = sum((r) => r.floor, format);
  console.log(
    `| ${format ?? 'all'} | ${n} | ${Math.round(f)} | ${Math.round(g)} | ${Math.round(z)} | ${(g / f).toFixed(2)} | ${(g / z).toFixed(2)} |`,
  );
}
console.log('');
console.log(`The ${SHOW} lines with the most fanin time above the floor (ns: fanin, floor, above, glossy):`);
for (const r of [...rows].sort((a, b) => b.fanin - b.floor - (a.fanin - a.floor)).slice(0, SHOW)) {
  const above = r.fanin - r.floor;
  console.log(
    `${Math.round(r.fanin)}\t${Math.round(r.floor)}\t${Math.round(above)}\t${Math.round(r.glossy)}\t${JSON.stringify(r.line.text.slice(0, 90))}`,
  );
}
console.log(`(checksum ${sink})`);
