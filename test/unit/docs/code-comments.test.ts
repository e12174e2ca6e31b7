import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Comments in product code say why the code is as it is. Benchmark figures and issue numbers go stale where they
 * stand; they live in bench/README.md, bench/results/ and the commit history. Only comments are read (the
 * TypeScript scanner finds them), so units in strings, settings descriptions and code are not looked at.
 */
const ROOT = new URL('../../../../', import.meta.url).pathname;
const PRODUCT_DIRS = ['receiver', 'dedup-worker', 'uploader', 'shared', 'cli'];

/** Files left out of the check: none (a file added here needs its reason beside it). */
const PENDING = new Set<string>();

/** What a figure or a reference looks like; each was checked to match no legitimate comment in the tree. */
export const FORBIDDEN: readonly RegExp[] = [
  /\b\d+(\.\d+)?\s?(µs|ns)\b/, // a per-operation time
  /\b\d+(\.\d+)?\s?k\s+(unique\s+)?events\b/i, // a throughput
  /\bevents\/s\b/, // a throughput
  /\b\d+(\.\d+)?\s?[x×](?=[\s,.;:)]|$)/i, // a speed-up ("1.2x", "5×"), not "0x10" or a stamp glued to a word
  /\b\d+(\.\d+)?\s?%\s+(less|more|faster|slower)\b/i, // a relative gain
  /\bissue\s*#?\d+/i, // an issue reference
  /\b(measured|micro-measurement|alternated runs?)\b[^.;]*?\b\d+(\.\d+)?\s?(%|x|×|µs|ns|ms|s|k)(?![a-z])/i, // a measurement with its figure
];

export function commentsOf(source: string): string[] {
  // Parsed, not scanned: only the parser knows a regular expression or a template from a comment.
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, true);
  const found = new Map<number, string>();
  const take = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) found.set(r.pos, source.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node) => {
    take(ts.getLeadingCommentRanges(source, node.getFullStart()));
    take(ts.getTrailingCommentRanges(source, node.getEnd()));
    for (const child of node.getChildren(file)) visit(child);
  };
  visit(file);
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text);
}

function productFiles(): string[] {
  return PRODUCT_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${dir}/${f}`),
  );
}

describe('product code comments', () => {
  it('find the figures and references the check is meant for, and nothing in code or strings', () => {
    const source = [
      '// took 1.15 vs 1.5 µs per key',
      'const a = "43.0k events/s"; /* sustained 43.0k unique events/s */',
      '/** see issue #17 */',
      'const t = `${x} 5×`; // measured 1.2x on it',
      '// plain why, 0x10 and 64 KiB',
      'const r = /\\/\\/ 3 µs/; // `Jan  2 03:04:05x` is no stamp',
      '// measured faster per RFC 5424 line on Node 20',
      '// measured 15 s at 5 s',
    ].join('\n');
    const hits = commentsOf(source).filter((c) => FORBIDDEN.some((p) => p.test(c)));
    assert.deepEqual(hits, [
      '// took 1.15 vs 1.5 µs per key',
      '/* sustained 43.0k unique events/s */',
      '/** see issue #17 */',
      '// measured 1.2x on it',
      '// measured 15 s at 5 s',
    ]);
  });

  it('hold no benchmark figure and no issue number', () => {
    const found: string[] = [];
    for (const file of productFiles()) {
      if (PENDING.has(file)) continue;
      for (const comment of commentsOf(readFileSync(join(ROOT, file), 'utf8'))) {
        for (const line of comment.split('\n')) {
          if (FORBIDDEN.some((p) => p.test(line))) found.push(`${file}: ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });
});
