import type { ReasonClass } from './dead-letter-origin.js';

export type ReplaySource = 'dead' | 'secondary';

interface Counts {
  batches: number;
  events: number;
}

/**
 * What a replay did (or, in a dry run, would do): batches and events per source, sink and reason; what it left
 * where it was and why; lines of secondary files that are no events. Pure bookkeeping: the summary and the progress
 * line are formatted from it, so their wording is tested without a broker.
 */
export class ReplayTally {
  /** `source\0target\0reason` → counts. The target is a sink name or a `<ns>.new` queue. */
  private readonly replayed = new Map<string, Counts>();
  /** Why a batch (or a file's lines) stayed → counts. */
  private readonly left = new Map<string, Counts>();
  /** A few bad lines with their place, for the summary; all of them are counted. */
  readonly badLines: string[] = [];
  badLineCount = 0;
  /** Things worth saying that are no batch (a queue that does not exist). */
  readonly notes: string[] = [];
  /** Messages of `<ns>.dead` looked at, of how many there were at the start. */
  deadSeen = 0;
  deadTotal = 0;
  filesDone = 0;
  filesTotal = 0;

  constructor(readonly dryRun: boolean) {}

  addReplayed(source: ReplaySource, target: string, reason: ReasonClass, events: number): void {
    bump(this.replayed, [source, target, reason].join('\0'), events);
  }

  addLeft(why: string, events: number): void {
    bump(this.left, why, events);
  }

  addBadLine(where: string, error: string): void {
    this.badLineCount++;
    if (this.badLines.length < 10) this.badLines.push(`${where}: ${error}`);
  }

  get batchesReplayed(): number {
    return sum(this.replayed, 'batches');
  }
  get eventsReplayed(): number {
    return sum(this.replayed, 'events');
  }
  get batchesLeft(): number {
    return sum(this.left, 'batches');
  }

  /** One line for stderr while a replay runs. */
  progressLine(elapsedMs: number): string {
    const verb = this.dryRun ? 'would replay' : 'replayed';
    return (
      `replay: ${(elapsedMs / 1000).toFixed(0)}s: ${this.deadTotal > 0 ? `dead ${this.deadSeen}/${this.deadTotal}, ` : ''}` +
      `${this.filesTotal > 0 ? `secondary files ${this.filesDone}/${this.filesTotal}, ` : ''}` +
      `${verb} ${this.batchesReplayed} batches (${this.eventsReplayed} events), left ${this.batchesLeft}`
    );
  }

  /** The report printed at the end: a table per source, sink and reason, then what was left and why. */
  summary(): string {
    const out: string[] = [this.dryRun ? 'replay --dry-run: nothing was moved; a replay would put back:' : 'replayed:'];
    const rows = [...this.replayed]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, c]) => [...key.split('\0'), String(c.batches), String(c.events)]);
    if (rows.length === 0) out.push('  nothing');
    else out.push(...table([['source', 'sink', 'reason', 'batches', 'events'], ...rows], [3, 4]));
    out.push(`total: ${this.batchesReplayed} batches, ${this.eventsReplayed} events`);
    if (this.left.size > 0) {
      out.push('left where they are:');
      const leftRows = [...this.left]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([why, c]) => [why, String(c.batches), String(c.events)]);
      out.push(...table([['why', 'batches', 'events'], ...leftRows], [1, 2]));
    }
    for (const note of this.notes) out.push(`note: ${note}`);
    if (this.badLineCount > 0) {
      out.push(
        `skipped ${this.badLineCount} lines of secondary files that are no events${this.badLineCount > this.badLines.length ? ` (the first ${this.badLines.length})` : ''}:`,
      );
      for (const l of this.badLines) out.push(`  ${l}`);
    }
    return out.join('\n');
  }
}

function bump(map: Map<string, Counts>, key: string, events: number): void {
  const c = map.get(key);
  if (c) {
    c.batches++;
    c.events += events;
  } else map.set(key, { batches: 1, events });
}

function sum(map: Map<string, Counts>, field: keyof Counts): number {
  let n = 0;
  for (const c of map.values()) n += c[field];
  return n;
}

/** Columns padded to their widest cell; the columns in `right` (numbers) aligned right. */
function table(rows: string[][], right: readonly number[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}
