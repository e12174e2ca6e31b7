import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppendedLines } from '../../testkit/appended-lines.js';

/** The marker every bench line carries in its message: run id, phase, sender stream and sequence number. */
export function benchMarker(runId: string, phase: string, stream: number, seq: number): string {
  return `bench=${runId}:${phase}:${stream}:${seq}`;
}
const MARKER = /bench=([0-9a-f]+):([a-z]+):(\d+):(\d+)/;
/** Both sinks write the event id as the first field of each JSON line. */
const ID = /^\{"id":"([^"]+)"/;

/** What landed of one phase: occurrences per (stream, sequence number), and when its last line landed. */
export class PhaseTally {
  private readonly seen: Uint8Array[] = [];
  /** Distinct (stream, seq) pairs landed. */
  distinct = 0;
  /** Extra copies of a (stream, seq) already landed: a dedup miss or a replay. */
  duplicated = 0;
  lines = 0;
  /** mtime of the sink file read when this phase's latest line was found (upper bound of its landing time). */
  lastLandedMs = 0;
  firstLandedMs = 0;

  record(stream: number, seq: number, landedMs: number): void {
    let arr = this.seen[stream];
    if (!arr || seq >= arr.length) {
      const grown = new Uint8Array(Math.max(1024, (seq + 1) * 2));
      if (arr) grown.set(arr);
      arr = grown;
      this.seen[stream] = arr;
    }
    const n = arr[seq]!;
    if (n === 0) this.distinct++;
    else this.duplicated++;
    if (n < 255) arr[seq] = n + 1;
    this.lines++;
    if (landedMs > this.lastLandedMs) this.lastLandedMs = landedMs;
    if (this.firstLandedMs === 0 || landedMs < this.firstLandedMs) this.firstLandedMs = landedMs;
  }

  /** Sequence numbers [0, sent) of each stream that never landed. */
  missing(sentPerStream: readonly number[]): number {
    let lost = 0;
    sentPerStream.forEach((sent, stream) => {
      const arr = this.seen[stream];
      for (let s = 0; s < sent; s++) if (!arr || s >= arr.length || arr[s] === 0) lost++;
    });
    return lost;
  }

  /** Landed lines whose sequence number was never sent (should be none). */
  beyond(sentPerStream: readonly number[]): number {
    let n = 0;
    this.seen.forEach((arr, stream) => {
      const sent = sentPerStream[stream] ?? 0;
      for (let s = sent; s < arr.length; s++) n += arr[s]!;
    });
    return n;
  }
}

/**
 * Follows the NDJSON files a sink writes (every file in `dir` that `match` accepts), parsing each complete line once:
 * the bench marker gives (phase, stream, seq), the id is checked for repeats. Poll it on a timer.
 */
export class SinkTail {
  private readonly files = new AppendedLines();
  private readonly tallies = new Map<string, PhaseTally>();
  private readonly ids = new Set<string>();
  private polling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Lines that carry no marker of this run (should be none). */
  foreign = 0;
  /** Ids that appeared on more than one line. */
  repeatedIds = 0;
  /** Lines of this run without an id field. */
  missingIds = 0;
  lines = 0;
  get bytes(): number {
    return this.files.bytes;
  }

  constructor(
    private readonly dir: string,
    private readonly runId: string,
    private readonly match: (file: string) => boolean,
  ) {}

  tally(phase: string): PhaseTally {
    let t = this.tallies.get(phase);
    if (!t) {
      t = new PhaseTally();
      this.tallies.set(phase, t);
    }
    return t;
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => {
      void this.poll();
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  /** Reads what was appended since the last poll (one poll at a time). */
  poll(): Promise<void> {
    this.polling ??= this.readNew().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  /** Files the sink wrote that `match` does not accept (a reject file, for instance). */
  async otherFiles(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => !this.match(n));
  }

  private async readNew(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter(this.match).sort();
    } catch {
      return;
    }
    // The landing time of a line is bounded by the mtime of the read that found it.
    for (const name of names) await this.files.read(join(this.dir, name), (text, mtimeMs) => this.line(text, mtimeMs));
  }

  private line(text: string, landedMs: number): void {
    this.lines++;
    const m = MARKER.exec(text);
    if (!m || m[1] !== this.runId) {
      this.foreign++;
      return;
    }
    const id = ID.exec(text)?.[1];
    if (id === undefined) this.missingIds++;
    else if (this.ids.has(id)) this.repeatedIds++;
    else this.ids.add(id);
    this.tally(m[2]!).record(Number(m[3]), Number(m[4]), landedMs);
  }
}
