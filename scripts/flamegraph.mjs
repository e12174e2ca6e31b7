#!/usr/bin/env node
// A V8 .cpuprofile (from `node --cpu-prof`, e.g. `BENCH_CPU_PROF=dir npm run bench`) as a flame graph in one
// self-contained SVG: width is CPU time, each bar a function on the stack, its callers below it; hover for the name
// and share. Idle time is left out. No dependency: the profile's call tree is already the flame graph's tree.
//
// usage: node scripts/flamegraph.mjs in.cpuprofile out.svg [title]
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, title = input] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node scripts/flamegraph.mjs in.cpuprofile out.svg [title]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(input, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, self: 0, total: 0 }]));
for (const id of profile.samples) byId.get(id).self++;
const root = byId.get(profile.nodes[0].id);

const skip = (n) => n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)';
function total(n) {
  n.total = skip(n) ? 0 : n.self;
  for (const c of n.children ?? []) n.total += total(byId.get(c));
  return n.total;
}
total(root);

const WIDTH = 1600;
const ROW = 17;
const MIN_PX = 0.3;
const bars = [];
let depthMax = 0;
function place(n, x, depth) {
  const w = (n.total / root.total) * WIDTH;
  if (w < MIN_PX) return;
  bars.push({ n, x, w, depth });
  depthMax = Math.max(depthMax, depth);
  let cx = x;
  for (const c of n.children ?? []) {
    const child = byId.get(c);
    place(child, cx, depth + 1);
    cx += (child.total / root.total) * WIDTH;
  }
}
place(root, 0, 0);

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function label(n) {
  const cf = n.callFrame;
  const file = cf.url ? cf.url.replace(/^.*\/(dist|node_modules)\//, (_, d) => (d === 'dist' ? '' : 'nm/')) : '';
  return `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
}
function color(n) {
  const url = n.callFrame.url ?? '';
  if (url.includes('node_modules')) return '#e8a33d';
  if (url.includes('/dist/')) return '#d9553a';
  if (url.startsWith('node:')) return '#4f8fd6';
  return '#9a9a9a';
}
const height = (depthMax + 2) * ROW + 30;
const ms = ((profile.endTime - profile.startTime) / 1000).toFixed(0);
const out = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
  `<text x="4" y="14">${esc(title)} — ${root.total} busy samples over ${ms} ms (red: fanin, orange: dependencies, blue: Node.js, grey: native/GC)</text>`,
];
for (const { n, x, w, depth } of bars) {
  const y = height - (depth + 1) * ROW;
  const share = ((100 * n.total) / root.total).toFixed(1);
  const text = label(n);
  const chars = Math.floor((w - 4) / 6.6);
  out.push(
    `<g><title>${esc(text)} (${share}%)</title><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${color(n)}"/>` +
      (chars >= 3
        ? `<text x="${(x + 2).toFixed(1)}" y="${y + 12}">${esc(text.length > chars ? `${text.slice(0, chars - 1)}…` : text)}</text>`
        : '') +
      '</g>',
  );
}
out.push('</svg>');
writeFileSync(output, out.join('\n') + '\n');
