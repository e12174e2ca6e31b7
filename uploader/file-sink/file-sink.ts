import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { Logger } from '../../shared/logger.js';
import { decodeEvent, rejectedLine, type RejectedBody } from '../decoded-events.js';
import type { Sink, SinkWriteResult } from '../sink.js';
import { ClosedFileGzip, GZIP_TMP_SUFFIX, syncDir } from './closed-file-gzip.js';
import { LineRuns } from './line-runs.js';
import { formatEventLine } from '../ndjson/ndjson-line.js';
import { transcodeEventLine } from '../ndjson/ndjson-transcoder.js';
import { compileFileNamePattern, type FileNamePattern, type PatternClock } from '../ndjson/path-pattern.js';

export const DEFAULT_FILE_PATTERN = 'events.%Y-%m-%d-%H.ndjson';
export const DEFAULT_CLOSE_IDLE_MS = 600_000;
const REJECTED_FILE = 'rejected.ndjson';
/** Open files of past periods beyond this are closed, least recently written first (a replay across many hours). */
const MAX_OPEN_FILES = 32;

export interface FileSinkOptions {
  readonly dir: string;
  readonly fsync: boolean;
  /** The sink's name in metrics and logs (default "file"). */
  readonly name?: string;
  /** strftime file name, td-agent style (default events.%Y-%m-%d-%H.ndjson), applied to each event's receipt time. */
  readonly pattern?: string;
  readonly clock?: PatternClock;
  /** Roll a period's file to `.1`, `.2`… before it would pass this many bytes; 0: no cap. */
  readonly maxBytes?: number;
  /** Compress closed files (rolled, or of a past period idle for closeIdleMs) in the background. */
  readonly gzip?: boolean;
  /** A past period's file not written for this long is closed (and compressed); later events get a new index. */
  readonly closeIdleMs?: number;
  readonly log?: Logger;
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly name: string;
  readonly base: string;
  readonly index: number;
  size: number;
  lastWrite: number;
  /** The file did not exist before: fsync the directory after its first durable write. */
  created: boolean;
}

/**
 * Newline-delimited JSON files named by a strftime pattern over each event's receipt time (default: one file per UTC
 * hour, `events.YYYY-MM-DD-HH.ndjson`). Each call appends all its lines with one write per file and, if configured,
 * fdatasync before resolving, so an ack always follows a durable write. An event whose body does not decode is
 * written to `rejected.ndjson` with the reason instead of being dropped. Writes, reopen and the periodic maintenance
 * (closing idle files, finding files to compress) run one at a time; compression itself runs beside them.
 */
export class FileSink implements Sink {
  readonly name: string;
  private readonly pattern: FileNamePattern;
  private readonly maxBytes: number;
  private readonly closeIdleMs: number;
  private readonly gzip: ClosedFileGzip | null;
  private readonly files = new Map<string, OpenFile>();
  private rejected: FileHandle | null = null;
  private ready: Promise<void> | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private swept = false;

  constructor(private readonly options: FileSinkOptions) {
    this.name = options.name ?? 'file';
    this.pattern = compileFileNamePattern(options.pattern ?? DEFAULT_FILE_PATTERN, options.clock ?? 'utc');
    this.maxBytes = options.maxBytes ?? 0;
    this.closeIdleMs = options.closeIdleMs ?? DEFAULT_CLOSE_IDLE_MS;
    this.gzip = options.gzip
      ? new ClosedFileGzip(options.dir, (file, err) =>
          options.log?.warn(
            { sink: this.name, file, err: err.message },
            'cannot gzip a closed file; it stays plain and is tried again later',
          ),
        )
      : null;
  }

  write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    return this.locked(async () => {
      // A failed mkdir is not cached: the directory may be fixed while the uploader retries.
      this.ready ??= mkdir(this.options.dir, { recursive: true }).then(
        () => undefined,
        (err: Error) => {
          this.ready = null;
          throw err;
        },
      );
      await this.ready;
      this.startMaintenance();
      const byBase = new Map<string, LineRuns>();
      const receivedAt: number[] = [];
      const rejected: RejectedBody[] = [];
      const add = (at: number, line: Uint8Array) => {
        const base = this.pattern.format(at);
        let lines = byBase.get(base);
        if (lines === undefined) byBase.set(base, (lines = new LineRuns()));
        lines.append(line);
        receivedAt.push(at);
      };
      for (const batch of batches) {
        for (let i = 0; i < batch.ids.length; i++) {
          const id = batch.ids[i]!;
          const body = batch.bodies[i]!;
          // The receivers' envelopes go straight from msgpack to JSON; anything else is decoded and checked.
          const fast = transcodeEventLine(id, body);
          if (fast) {
            add(fast.receivedAt, fast.line);
            continue;
          }
          const decoded = decodeEvent(id, body);
          if ('envelope' in decoded)
            add(decoded.envelope.received_at, Buffer.from(formatEventLine(id, decoded.envelope)));
          else rejected.push(decoded);
        }
      }
      const jobs = [...byBase].map(([base, lines]) => this.appendToPeriod(base, lines.bytes()));
      if (rejected.length > 0) jobs.push(this.appendRejected(rejected.map(rejectedLine).join('')));
      await Promise.all(jobs);
      this.closeIdle(Date.now());
      return { written: receivedAt.length, rejected: rejected.length, receivedAt };
    });
  }

  /** SIGUSR1/rotation: close every file; the next write reopens (appending, or a new file if it was moved away). */
  reopen(): Promise<void> {
    return this.locked(() => this.closeAll());
  }

  async close(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    await this.locked(() => this.closeAll());
    await this.gzip?.close();
  }

  /** Closes idle files and, with gzip, queues closed files found in the directory (also those of a crashed run). */
  maintain(now = Date.now()): Promise<void> {
    return this.locked(async () => {
      this.closeIdle(now);
      if (this.gzip) await this.sweep(now);
    });
  }

  /** Resolves when every queued compression finished (tests, bench). */
  async compressionIdle(): Promise<void> {
    await this.gzip?.idle();
  }

  /** The names of the files open for appending (tests). */
  openFiles(): string[] {
    return [...this.files.values()].map((f) => f.name);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private startMaintenance(): void {
    if (this.timer) return;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(this.closeIdleMs / 2)));
    this.timer = setInterval(() => {
      this.maintain().catch((err: Error) =>
        this.options.log?.warn({ sink: this.name, err: err.message }, 'file sink maintenance failed'),
      );
    }, every);
    this.timer.unref();
    if (this.gzip && !this.swept) {
      this.swept = true;
      void this.maintain().catch((err: Error) =>
        this.options.log?.warn({ sink: this.name, err: err.message }, 'file sink start-up sweep failed'),
      );
    }
  }

  private async appendToPeriod(base: string, bytes: Buffer): Promise<void> {
    let file = this.files.get(base) ?? (await this.openPeriod(base));
    if (this.maxBytes > 0 && file.size > 0 && file.size + bytes.length > this.maxBytes) file = await this.roll(file);
    try {
      await file.handle.appendFile(bytes);
      file.size += bytes.length;
      file.lastWrite = Date.now();
      if (this.options.fsync) {
        await file.handle.datasync();
        if (file.created) {
          await syncDir(this.options.dir);
          file.created = false;
        }
      }
    } catch (err) {
      // Cut a partial append off so the retry does not leave half a line, and reopen on the next attempt.
      await file.handle.truncate(file.size).catch(() => undefined);
      this.files.delete(base);
      await file.handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The file a period appends to: its highest index, unless that one is compressed, being compressed or full, in
   * which case the next index. Never appends to a file that compression may be reading.
   */
  private async openPeriod(base: string): Promise<OpenFile> {
    const existing = new Map<number, { plain: boolean; gz: boolean }>();
    for (const entry of await readdir(this.options.dir)) {
      const p = this.pattern.parse(entry);
      if (!p || p.base !== base) continue;
      const e = existing.get(p.index) ?? { plain: false, gz: false };
      if (p.gzipped) e.gz = true;
      else e.plain = true;
      existing.set(p.index, e);
    }
    let index = existing.size === 0 ? 0 : Math.max(...existing.keys());
    const top = existing.get(index);
    if (top && (!top.plain || top.gz || this.gzip?.isPending(this.pattern.withIndex(base, index)))) index++;
    for (let attempt = 0; attempt < 1000; attempt++, index++) {
      const name = this.pattern.withIndex(base, index);
      if (this.gzip?.isPending(name)) continue;
      const handle = await open(join(this.options.dir, name), 'a');
      const size = (await handle.stat()).size;
      if (this.maxBytes > 0 && size >= this.maxBytes) {
        await handle.close();
        continue;
      }
      const file: OpenFile = {
        handle,
        name,
        base,
        index,
        size,
        lastWrite: Date.now(),
        created: !existing.get(index)?.plain,
      };
      this.files.set(base, file);
      return file;
    }
    throw new Error(`file sink: no free roll index for ${base} in ${this.options.dir}`);
  }

  private async roll(file: OpenFile): Promise<OpenFile> {
    this.files.delete(file.base);
    this.gzip?.enqueue(file.name);
    await file.handle.close();
    const name = this.pattern.withIndex(file.base, file.index + 1);
    const handle = await open(join(this.options.dir, name), 'a');
    const next: OpenFile = {
      handle,
      name,
      base: file.base,
      index: file.index + 1,
      size: (await handle.stat()).size,
      lastWrite: Date.now(),
      created: true,
    };
    this.files.set(file.base, next);
    return next;
  }

  private async appendRejected(text: string): Promise<void> {
    this.rejected ??= await open(join(this.options.dir, REJECTED_FILE), 'a');
    await this.rejected.appendFile(text);
    if (this.options.fsync) await this.rejected.datasync();
  }

  /** Closes past periods' files idle for closeIdleMs (and the oldest past ones beyond MAX_OPEN_FILES). */
  private closeIdle(now: number): void {
    const current = this.pattern.format(now);
    const past = [...this.files.values()].filter((f) => f.base !== current).sort((a, b) => a.lastWrite - b.lastWrite);
    const excess = this.files.size - MAX_OPEN_FILES;
    past.forEach((f, i) => {
      if (i >= excess && now - f.lastWrite < this.closeIdleMs) return;
      // Marked closed before anything can await: no write may reopen it while compression reads it.
      this.files.delete(f.base);
      this.gzip?.enqueue(f.name);
      void f.handle.close().catch(() => undefined);
    });
  }

  private async closeAll(): Promise<void> {
    const handles = [...this.files.values()].map((f) => f.handle);
    if (this.rejected) handles.push(this.rejected);
    this.files.clear();
    this.rejected = null;
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }

  /**
   * Finds closed files in the directory: rolled indices below a period's highest, and past periods' files idle for
   * closeIdleMs. Finishes what a crash interrupted: a plain file whose `.gz` exists is removed (the `.gz` is
   * complete: it is renamed into place only after fsync), and a stray `.gz.tmp` is deleted.
   */
  private async sweep(now: number): Promise<void> {
    const gzip = this.gzip!;
    const dir = this.options.dir;
    const entries = await readdir(dir);
    const names = new Set(entries);
    const open = new Set(this.openFiles());
    const highest = new Map<string, number>();
    const plain: { name: string; base: string; index: number }[] = [];
    for (const entry of entries) {
      if (entry.endsWith(GZIP_TMP_SUFFIX)) {
        const source = entry.slice(0, -GZIP_TMP_SUFFIX.length);
        if (!gzip.isPending(source) && this.pattern.parse(source))
          await unlink(join(dir, entry)).catch(() => undefined);
        continue;
      }
      const p = this.pattern.parse(entry);
      if (!p) continue;
      highest.set(p.base, Math.max(highest.get(p.base) ?? 0, p.index));
      if (!p.gzipped) plain.push({ name: entry, base: p.base, index: p.index });
    }
    const current = this.pattern.format(now);
    for (const f of plain) {
      if (open.has(f.name) || gzip.isPending(f.name)) continue;
      if (names.has(f.name + '.gz')) {
        await unlink(join(dir, f.name)).catch(() => undefined);
        continue;
      }
      const rolled = f.index < highest.get(f.base)!;
      if (rolled) {
        gzip.enqueue(f.name);
        continue;
      }
      if (f.base === current) continue;
      const mtime = await stat(join(dir, f.name)).then(
        (s) => s.mtimeMs,
        () => now,
      );
      if (now - mtime >= this.closeIdleMs) gzip.enqueue(f.name);
    }
  }
}
