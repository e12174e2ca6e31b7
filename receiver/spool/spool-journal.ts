import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Disposition } from '../../shared/errors/disposition.js';
import { GroupSync, type SyncFile } from './group-sync.js';

export type SpoolFsync = 'always' | 'never';

export interface SpoolJournalOptions {
  readonly dir: string;
  /** A segment is closed and a new one started past this size. */
  readonly segmentBytes: number;
  /** Appends fail (SpoolFullError) past this total size. */
  readonly maxBytes: number;
  readonly fsync: SpoolFsync;
  /** How a segment is made durable (fdatasync on the thread pool); a test stands in with a scripted one. */
  readonly syncFile?: SyncFile;
}

/**
 * The spool's size bound or its disk is full. Disposition retry: the batch stays in memory (bounded by
 * receiver.maxBufferedBatches, past which inputs push back) and is published or spooled again later; nothing is
 * acknowledged to a sender meanwhile.
 */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
  readonly code = 'SPOOL_FULL';
  readonly disposition: Disposition = 'retry';
}

/** Where a record came from, to release it when the broker confirmed it. */
export interface SpoolRecord {
  readonly bytes: Buffer;
  readonly segment: number;
  /** Records handed out before a rewind are not released: they will be handed out again. */
  readonly generation: number;
}

interface Segment {
  readonly number: number;
  readonly path: string;
  size: number;
  /** Records handed out and not yet released (confirmed). */
  outstanding: number;
  /** Read offset of the next record. */
  readOffset: number;
}

const HEADER_BYTES = 8; // u32 length + u32 checksum

/**
 * An ordered on-disk journal of encoded batches, used only while the broker cannot take them (like td-agent's file
 * buffer). Records are appended to numbered segment files; `next()` hands them out oldest first; a segment is
 * deleted once fully read and every record in it released. A torn record at the tail of a segment (a crash mid-write)
 * is detected by its length or checksum and skipped, so a restart replays every complete record.
 * Writes and reads are synchronous on purpose: ordering is simplest without interleaving, and a write to the page
 * cache is short. The wait for the disk is not: with fsync=always each append's promise resolves once an fdatasync on
 * the thread pool has covered it (GroupSync), so a broker outage does not stall every input on the disk.
 */
export class SpoolJournal {
  private readonly segments: Segment[] = [];
  private writeFd: number | null = null;
  private totalBytes = 0;
  private records = 0;
  private corruptTails = 0;
  private generation = 0;
  private readonly sync: GroupSync;

  constructor(private readonly options: SpoolJournalOptions) {
    this.sync = new GroupSync(options.syncFile);
    mkdirSync(options.dir, { recursive: true });
    for (const name of readdirSync(options.dir)
      .filter((n) => /^spool-\d{16}\.log$/.test(n))
      .sort()) {
      const path = join(options.dir, name);
      const size = statSync(path).size;
      this.segments.push({ number: Number(name.slice(6, 22)), path, size, outstanding: 0, readOffset: 0 });
      this.totalBytes += size;
    }
    this.records = this.countRecords();
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.totalBytes;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Records not yet handed out by next(). */
  get unread(): number {
    return this.records;
  }
  /** True while anything is on disk: new batches must queue behind it to keep order. */
  get hasData(): boolean {
    return this.segments.length > 0;
  }
  get corruptRecordsSkipped(): number {
    return this.corruptTails;
  }
  /** Modification time of the oldest segment, for the "oldest age" metric. */
  oldestMtimeMs(): number | null {
    const first = this.segments[0];
    return first ? statSync(first.path).mtimeMs : null;
  }

  /**
   * Writes one record at the tail; throws SpoolFullError at once when it does not fit. The promise resolves once the
   * record is durable (at once with fsync=never) and rejects with SpoolSyncError when its sync fails: only then may
   * the batch be acknowledged to a sender.
   */
  append(bytes: Buffer): Promise<void> {
    if (this.totalBytes + bytes.length + HEADER_BYTES > this.options.maxBytes) {
      throw new SpoolFullError(`spool full: ${this.totalBytes} of ${this.options.maxBytes} bytes`);
    }
    let tail = this.segments.at(-1);
    if (!tail || this.writeFd === null || tail.size >= this.options.segmentBytes) tail = this.startSegment();
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(bytes.length, 0);
    header.writeUInt32BE(checksum(bytes), 4);
    try {
      writeAll(this.writeFd!, header);
      writeAll(this.writeFd!, bytes);
    } catch (err) {
      // A partial record (disk full) must not stay in front of the next one: replay would read it as a torn tail and
      // skip every later record of the segment. Cut the file back to its last complete record.
      try {
        ftruncateSync(this.writeFd!, tail.size);
      } catch {
        this.retireWriteFd();
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT')
        throw new SpoolFullError(`spool disk full (${code}) at ${tail.size} bytes of ${tail.path}`);
      throw err;
    }
    tail.size += HEADER_BYTES + bytes.length;
    this.totalBytes += HEADER_BYTES + bytes.length;
    this.records++;
    if (this.options.fsync !== 'always') return Promise.resolve();
    const durable = this.sync.afterWrite(this.writeFd!);
    // After a failed sync the file's state on disk is unknown: later records go to a new segment.
    durable.catch(() => {
      if (this.segments.at(-1) === tail) this.retireWriteFd();
    });
    return durable;
  }

  /** The oldest record not yet handed out, or null. */
  next(): SpoolRecord | null {
    for (const seg of this.segments) {
      if (seg.readOffset >= seg.size) continue;
      const record = this.readAt(seg);
      if (record) {
        seg.outstanding++;
        this.records--;
        return { bytes: record, segment: seg.number, generation: this.generation };
      }
      // Torn or corrupt tail: nothing after it in this segment is trustworthy.
      this.corruptTails++;
      seg.readOffset = seg.size;
    }
    return null;
  }

  /** The broker confirmed this record: its segment may now be deletable. */
  release(record: SpoolRecord): void {
    if (record.generation !== this.generation) return;
    const seg = this.segments.find((s) => s.number === record.segment);
    if (!seg) return;
    seg.outstanding--;
    this.collect();
  }

  /**
   * A handed-out record was not confirmed (connection lost): hand everything out again from the oldest segment.
   * Records that were confirmed are published twice with their batch id, which the dedup script recognises.
   */
  rewind(): void {
    this.generation++;
    for (const s of this.segments) {
      s.readOffset = 0;
      s.outstanding = 0;
    }
    this.records = this.countRecords();
  }

  /**
   * Resolves once every record appended so far is settled (durable or failed) and every retired segment file closed:
   * a deleted segment's disk space is free only then.
   */
  async settled(): Promise<void> {
    await this.sync.idle();
  }

  /** Stops writing; resolves once every record appended so far is settled (durable or failed). */
  async close(): Promise<void> {
    this.retireWriteFd();
    await this.sync.idle();
  }

  /** Stops writing to the tail segment; its descriptor is closed once no sync needs it. */
  private retireWriteFd(discarded = false): void {
    if (this.writeFd === null) return;
    this.sync.retire(this.writeFd, discarded);
    this.writeFd = null;
  }

  private collect(): void {
    while (this.segments.length > 0) {
      const seg = this.segments[0]!;
      const isWriting = seg === this.segments.at(-1) && this.writeFd !== null;
      if (seg.readOffset < seg.size || seg.outstanding > 0) return;
      if (isWriting) this.retireWriteFd(true);
      rmSync(seg.path, { force: true });
      this.totalBytes -= seg.size;
      this.segments.shift();
    }
  }

  private startSegment(): Segment {
    this.retireWriteFd();
    const number = (this.segments.at(-1)?.number ?? 0) + 1;
    const path = join(this.options.dir, `spool-${String(number).padStart(16, '0')}.log`);
    this.writeFd = openSync(path, 'a');
    const seg: Segment = { number, path, size: fstatSync(this.writeFd).size, outstanding: 0, readOffset: 0 };
    this.segments.push(seg);
    return seg;
  }

  private readAt(seg: Segment): Buffer | null {
    if (seg.size - seg.readOffset < HEADER_BYTES) return null;
    const fd = openSync(seg.path, 'r');
    try {
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      readSync(fd, header, 0, HEADER_BYTES, seg.readOffset);
      const length = header.readUInt32BE(0);
      if (length > seg.size - seg.readOffset - HEADER_BYTES) return null;
      const bytes = Buffer.allocUnsafe(length);
      readSync(fd, bytes, 0, length, seg.readOffset + HEADER_BYTES);
      if (checksum(bytes) !== header.readUInt32BE(4)) return null;
      seg.readOffset += HEADER_BYTES + length;
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  private countRecords(): number {
    let n = 0;
    for (const seg of this.segments) {
      const fd = openSync(seg.path, 'r');
      try {
        const header = Buffer.allocUnsafe(HEADER_BYTES);
        for (let off = 0; off + HEADER_BYTES <= seg.size;) {
          readSync(fd, header, 0, HEADER_BYTES, off);
          const length = header.readUInt32BE(0);
          if (off + HEADER_BYTES + length > seg.size) break;
          n++;
          off += HEADER_BYTES + length;
        }
      } finally {
        closeSync(fd);
      }
    }
    return n;
  }
}

function checksum(bytes: Buffer): number {
  return createHash('sha256').update(bytes).digest().readUInt32BE(0);
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}
