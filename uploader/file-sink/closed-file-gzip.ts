import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export const GZIP_TMP_SUFFIX = '.gz.tmp';

/**
 * Compresses closed files of one directory, one at a time, in the background: the writes never wait for it (zlib
 * and the file streams run off the event loop's critical path). Crash-safe by ordering: `X` → `X.gz.tmp`, fsync,
 * rename to `X.gz`, fsync the directory, and only then unlink `X`. A crash at any point leaves the plain file, or
 * a complete `X.gz` next to it (the sink's sweep then removes `X`); a stray `X.gz.tmp` is deleted by the sweep.
 */
export class ClosedFileGzip {
  private readonly queue: string[] = [];
  private readonly pending = new Set<string>();
  private running: Promise<void> | null = null;
  private stopped = false;
  compressed = 0;
  failed = 0;

  constructor(
    private readonly dir: string,
    private readonly onError: (file: string, err: Error) => void,
  ) {}

  /** A pending file is closed for good: the sink never appends to it again (late events go to the next index). */
  isPending(fileName: string): boolean {
    return this.pending.has(fileName);
  }

  enqueue(fileName: string): void {
    if (this.stopped || this.pending.has(fileName)) return;
    this.pending.add(fileName);
    this.queue.push(fileName);
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once the queue is empty (tests and the bench); never needed by the write path. */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && this.running; i++) await this.running;
  }

  /** Finishes the file in progress and leaves the rest plain: the next start's sweep compresses them. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const name of this.queue.splice(0)) this.pending.delete(name);
    await this.running;
  }

  private async run(): Promise<void> {
    for (let name = this.queue.shift(); name !== undefined && !this.stopped; name = this.queue.shift()) {
      try {
        await gzipFile(this.dir, name);
        this.compressed++;
      } catch (err) {
        this.failed++;
        this.onError(name, err as Error);
      } finally {
        this.pending.delete(name);
      }
    }
    for (const name of this.queue.splice(0)) this.pending.delete(name);
  }
}

export async function gzipFile(dir: string, name: string): Promise<void> {
  const plain = join(dir, name);
  const tmp = plain + GZIP_TMP_SUFFIX;
  try {
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(tmp));
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await rename(tmp, plain + '.gz');
  await syncDir(dir);
  await unlink(plain);
}

/** fsync a directory so a created, renamed or removed entry survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
