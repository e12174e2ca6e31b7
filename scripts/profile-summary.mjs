#!/usr/bin/env node
// Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. `BENCH_CPU_PROF=dir npm run bench`): for each
// profile, the process it came from (its title guess), then the functions with the most self time and the
// source files with the most inclusive-of-callees-free (self) time. Text, so a profile's shape can be read in a
// terminal and kept in git beside the .cpuprofile (which speedscope or Chrome DevTools draw as a flame graph).
//
// usage: node scripts/profile-summary.mjs [--top N] file.cpuprofile…
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else files.push(args[i]);
}

function shortUrl(url) {
  if (!url) return '(native)';
  const m = url.match(/\/(dist|node_modules)\/(.*)$/);
  if (m) return m[1] === 'dist' ? m[2] : `nm/${m[2].replace(/^(@[^/]+\/[^/]+|[^/]+)\/.*\/([^/]+)$/, '$1/…/$2')}`;
  return url.replace(/^node:/, 'node:');
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfSamples = new Map();
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const dt = (profile.endTime - profile.startTime) / 1e6 / Math.max(1, total); // seconds per sample
  const byFunction = new Map();
  const byFile = new Map();
  let idle = 0;
  for (const [id, n] of selfSamples) {
    const node = byId.get(id);
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idle += n;
      continue;
    }
    const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n);
    const f = cf.url ? shortUrl(cf.url) : cf.functionName;
    byFile.set(f, (byFile.get(f) ?? 0) + n);
  }
  const busy = total - idle;
  const pct = (n) => `${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const role = [...byFile.keys()].find((f) => /^(receiver|dedup-worker|uploader)\/run-/.test(f)) ?? '?';
  console.log(
    `== ${basename(file)}  (${role}) busy ${(busy * dt).toFixed(1)} s of ${(total * dt).toFixed(1)} s sampled`,
  );
  console.log('  self time by function (% of busy):');
  for (const [k, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`   ${pct(n)}  ${k}`);
  console.log('  self time by file:');
  for (const [k, n] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, Math.ceil(top / 2)))
    console.log(`   ${pct(n)}  ${k}`);
  console.log('');
}
