import type { CheckResult, Row } from './checker.js';

function label(r: Row): string {
  if (r.error) return `${r.label} [suite error]`;
  if (r.stuck) return `${r.label} [stuck: ${r.stuck.join(', ')}]`;
  return r.label;
}

const COLUMNS: [string, (r: Row) => string][] = [
  ['fault', label],
  ['at s', (r) => (r.injectS === null ? '' : r.injectS.toFixed(1))],
  ['heal s', (r) => (r.healS === null ? '' : r.healS.toFixed(1))],
  ['sent', (r) => String(r.sent)],
  ['delivered', (r) => String(r.delivered)],
  ['lost', (r) => (r.lostExplained > 0 ? `${r.lost} (${r.lostExplained} expl.)` : String(r.lost))],
  ['dup raw', (r) => String(r.duplicatedRaw)],
  ['dup new ids', (r) => String(r.duplicatedNewIds)],
  ['repeats kept/sent', (r) => `${r.repeatsKept}/${r.repeatsSent}`],
  [
    'collapsed',
    (r) => (r.repeatsCollapsed === 0 ? '0' : `${r.repeatsCollapsed} (${r.repeatsCollapsedExplained} expl.)`),
  ],
  ['solo lost/sent', (r) => `${r.soloLost}/${r.soloSent}`],
  ['http lost/acked', (r) => `${r.httpLost}/${r.httpAcked}`],
  ['secondary', (r) => String(r.secondaryLines)],
  ['dead', (r) => (r.deadLettered === null ? '?' : String(r.deadLettered))],
  ['recovery s', (r) => (r.recoveryS === null ? '' : r.recoveryS.toFixed(1))],
];

/** The per-fault table, fixed width for a terminal. */
export function formatTable(result: CheckResult): string {
  const rows = [...result.rows, result.total];
  const cells = rows.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const out = [line(COLUMNS.map(([h]) => h)), widths.map((w) => '-'.repeat(w)).join('  ')];
  cells.forEach((c, i) => {
    if (i === cells.length - 1) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    out.push(line(c));
  });
  return out.join('\n');
}

/** The same table in Markdown, for chaos/README.md. */
export function formatMarkdown(result: CheckResult): string {
  const rows = [...result.rows, result.total];
  const head = `| ${COLUMNS.map(([h]) => h).join(' | ')} |`;
  const sep = `|${COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`;
  return [head, sep, ...rows.map((r) => `| ${COLUMNS.map(([, f]) => f(r)).join(' | ')} |`)].join('\n');
}
