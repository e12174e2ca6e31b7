import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppendedLines } from '../testkit/appended-lines.js';

/** One event line of this run, as the checker needs it. */
export interface SinkLine {
  readonly seq: number;
  readonly id: string;
  /** When the receiver took the copy in (the line's received_at). */
  readonly receivedAt: number;
  /** When the suite first saw the line in the sink (poll time). */
  readonly landedAt: number;
  /** Found in the secondary sink's directory. */
  readonly secondary: boolean;
  /** The receiver whose copy was published (the line's `receiver`). */
  readonly receiver: string;
}

export interface SinkDir {
  readonly path: string;
  readonly secondary: boolean;
}

interface RawLine {
  id?: unknown;
  message?: unknown;
  received_at?: unknown;
  receiver?: unknown;
}

const MARKER = /chaos=([0-9a-f]+):(\d+)/;
const EVENTS_FILE = /^events\..+\.ndjson$/;

/**
 * Follows the NDJSON files of the sink and of its secondary as they grow, keeping each line of this run in columns
 * (sequence number, id, receipt and landing time). A line that is not valid JSON is counted; when it is two lines
 * run together (a torn write followed by a retry), the last complete event in it is still read.
 *
 * What the run is judged on comes from one more read of every file from its start, in stop(): the file sink cuts a
 * torn append off (truncate) before it writes again, so a poll that fell between the torn write and the cut has
 * read bytes the file no longer holds and would go on past the cut, skipping as many bytes of what was written
 * there next. Following only times the landings (the first poll that saw each id).
 */
export class SinkReader {
  private files = new AppendedLines();
  /** When a poll first saw each id: the landing times the final read keeps. */
  private readonly firstSeen = new Map<string, number>();
  private seqs = new Uint32Array(1 << 16);
  private received = new Float64Array(1 << 16);
  private landed = new Float64Array(1 << 16);
  private secondaryFlags = new Uint8Array(1 << 16);
  private readonly ids: string[] = [];
  private readonly receivers: string[] = [];
  private polling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  count = 0;
  /** Lines without this run's marker. */
  foreign = 0;
  /** Lines that did not parse as JSON (of which `torn` still yielded an event). */
  unparseable = 0;
  torn = 0;
  /** Lines in the sinks' rejected.ndjson files. */
  rejected = 0;
  secondaryLines = 0;
  lastLandedAt = 0;

  constructor(
    private readonly dirs: readonly SinkDir[],
    private readonly runId: string,
  ) {}

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => {
      void this.poll();
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.poll();
    await this.readAgainFromStart();
  }

  /** Every file read again from its start, the columns rebuilt from that read; landing times from the polls. */
  private async readAgainFromStart(): Promise<void> {
    this.files = new AppendedLines();
    this.count = 0;
    this.foreign = 0;
    this.unparseable = 0;
    this.torn = 0;
    this.rejected = 0;
    this.secondaryLines = 0;
    this.lastLandedAt = 0;
    this.ids.length = 0;
    this.receivers.length = 0;
    this.finalRead = true;
    await this.readAll();
  }

  /** Set for the read from the start in stop(): lines take the landing time a poll saw, not the time of that read. */
  private finalRead = false;

  poll(): Promise<void> {
    this.polling ??= this.readAll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  *lines(): Generator<SinkLine> {
    for (let i = 0; i < this.count; i++) {
      yield {
        seq: this.seqs[i]!,
        id: this.ids[i]!,
        receivedAt: this.received[i]!,
        landedAt: this.landed[i]!,
        secondary: this.secondaryFlags[i] === 1,
        receiver: this.receivers[i]!,
      };
    }
  }

  private async readAll(): Promise<void> {
    for (const dir of this.dirs) {
      let names: string[];
      try {
        names = (await readdir(dir.path)).sort();
      } catch {
        continue;
      } // missing, or replaced by a file (a fault)
      for (const name of names) {
        const isEvents = EVENTS_FILE.test(name);
        if (!isEvents && name !== 'rejected.ndjson') continue;
        await this.readFile(join(dir.path, name), dir.secondary, isEvents);
      }
    }
  }

  private async readFile(path: string, secondary: boolean, isEvents: boolean): Promise<void> {
    // A line's landing time is when this poll read it (lines are handed over once the read is done).
    let now = 0;
    await this.files.read(path, (text) => {
      now ||= Date.now();
      if (isEvents) this.line(text, now, secondary);
      else this.rejected++;
    });
  }

  private line(text: string, now: number, secondary: boolean): void {
    let parsed: RawLine | null = null;
    try {
      parsed = JSON.parse(text) as RawLine;
    } catch {
      this.unparseable++;
      const at = text.lastIndexOf('{"id":"');
      if (at > 0) {
        try {
          parsed = JSON.parse(text.slice(at)) as RawLine;
          this.torn++;
        } catch {
          parsed = null;
        }
      }
    }
    if (!parsed || typeof parsed.id !== 'string' || typeof parsed.message !== 'string') {
      if (parsed) this.foreign++;
      return;
    }
    const m = MARKER.exec(parsed.message);
    if (!m || m[1] !== this.runId) {
      this.foreign++;
      return;
    }
    if (this.count === this.seqs.length) this.grow();
    const i = this.count++;
    this.seqs[i] = Number(m[2]);
    this.ids[i] = parsed.id;
    this.receivers[i] = typeof parsed.receiver === 'string' ? parsed.receiver : '?';
    this.received[i] = typeof parsed.received_at === 'string' ? Date.parse(parsed.received_at) : 0;
    // A line no poll saw (one a poll skipped, see above) lands when the final read finds it.
    const seen = this.firstSeen.get(parsed.id);
    if (seen === undefined) this.firstSeen.set(parsed.id, now);
    const landedAt = this.finalRead && seen !== undefined ? seen : now;
    this.landed[i] = landedAt;
    this.secondaryFlags[i] = secondary ? 1 : 0;
    if (secondary) this.secondaryLines++;
    this.lastLandedAt = Math.max(this.lastLandedAt, landedAt);
  }

  private grow(): void {
    const n = this.seqs.length * 2;
    const seqs = new Uint32Array(n);
    seqs.set(this.seqs);
    this.seqs = seqs;
    const rec = new Float64Array(n);
    rec.set(this.received);
    this.received = rec;
    const land = new Float64Array(n);
    land.set(this.landed);
    this.landed = land;
    const sec = new Uint8Array(n);
    sec.set(this.secondaryFlags);
    this.secondaryFlags = sec;
  }
}
