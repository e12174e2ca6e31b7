import type { Design, RoundResult } from './rounds.js';

export interface DesignSummary {
  readonly design: Design;
  readonly rounds: number;
  /** Medians over the rounds (null: no round had the value). */
  readonly median: {
    readonly tcpLost: number | null;
    readonly udpLost: number | null;
    readonly tcpDuplicates: number | null;
    readonly udpDuplicates: number | null;
    readonly vipAddedMs: number | null;
    readonly tcpFirstOnSurvivorMs: number | null;
    readonly udpFirstOnSurvivorMs: number | null;
  };
  readonly totalLost: number;
  readonly totalDuplicates: number;
}

export function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarize(results: readonly RoundResult[]): DesignSummary[] {
  return (['active-standby', 'active-active'] as const).map((design) => {
    const rs = results.filter((r) => r.design === design);
    return {
      design,
      rounds: rs.length,
      median: {
        tcpLost: median(rs.map((r) => r.tcp.lost)),
        udpLost: median(rs.map((r) => r.udp.lost)),
        tcpDuplicates: median(rs.map((r) => r.tcp.duplicates)),
        udpDuplicates: median(rs.map((r) => r.udp.duplicates)),
        vipAddedMs: median(rs.map((r) => r.vipAddedMs)),
        tcpFirstOnSurvivorMs: median(rs.map((r) => r.tcp.otherFirstAcceptMs)),
        udpFirstOnSurvivorMs: median(rs.map((r) => r.udp.otherFirstAcceptMs)),
      },
      totalLost: rs.reduce((n, r) => n + r.tcp.lost + r.udp.lost, 0),
      totalDuplicates: rs.reduce((n, r) => n + r.tcp.duplicates + r.udp.duplicates, 0),
    };
  });
}

const show = (v: number | null) => (v === null ? '–' : String(Math.round(v)));

/** One Markdown table: every round of both designs, then each design's median. */
export function formatComparison(summary: readonly DesignSummary[], results: readonly RoundResult[]): string {
  const head =
    '| design | round | killed | VIP on survivor ms | TCP lost / sent | TCP dup | UDP lost / sent | UDP dup | first TCP line on survivor ms | first UDP line on survivor ms |';
  const sep = '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|';
  const rows = results.map((r) => {
    const standby = r.design === 'active-standby';
    return (
      `| ${r.design} | ${r.round} | ${r.killed} | ${standby ? show(r.vipAddedMs) : 'n/a'} | ${r.tcp.lost} / ${r.tcp.sent} | ${r.tcp.duplicates} | ` +
      `${r.udp.lost} / ${r.udp.sent} | ${r.udp.duplicates} | ${standby ? show(r.tcp.otherFirstAcceptMs) : 'n/a'} | ${standby ? show(r.udp.otherFirstAcceptMs) : 'n/a'} |`
    );
  });
  const medians = summary
    .filter((s) => s.rounds > 0)
    .map((s) => {
      const m = s.median;
      const standby = s.design === 'active-standby';
      return (
        `| ${s.design} | **median** | | ${standby ? show(m.vipAddedMs) : 'n/a'} | **${show(m.tcpLost)}** | ${show(m.tcpDuplicates)} | **${show(m.udpLost)}** | ` +
        `${show(m.udpDuplicates)} | ${standby ? show(m.tcpFirstOnSurvivorMs) : 'n/a'} | ${standby ? show(m.udpFirstOnSurvivorMs) : 'n/a'} |`
      );
    });
  return [head, sep, ...rows, ...medians].join('\n');
}
