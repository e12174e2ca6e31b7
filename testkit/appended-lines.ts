import { open, stat } from 'node:fs/promises';

interface FileState {
  offset: number;
  partial: Buffer;
}

/**
 * Follows NDJSON files as a sink appends to them: each read hands over the complete lines written since the last
 * read of that file, each line once; a line still being written waits for its newline. The bench and the chaos
 * suite both check what landed in a file sink this way.
 */
export class AppendedLines {
  private readonly files = new Map<string, FileState>();
  /** Bytes read so far, over all files. */
  bytes = 0;

  /**
   * Reads what `path` gained, up to the size a stat saw just before, and calls `onLine` for each complete line.
   * Returns that stat's mtime (every byte read was written no later), or null when the file cannot be read now:
   * missing, or replaced by something else (a chaos fault); a later read picks up where this one stopped.
   */
  async read(path: string, onLine: (text: string, mtimeMs: number) => void): Promise<number | null> {
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = await stat(path));
    } catch {
      return null;
    }
    let state = this.files.get(path);
    if (!state) {
      state = { offset: 0, partial: Buffer.alloc(0) };
      this.files.set(path, state);
    }
    if (size <= state.offset) return mtimeMs;
    const buf = Buffer.allocUnsafe(size - state.offset);
    let got = 0;
    try {
      const fh = await open(path, 'r');
      try {
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, state.offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } finally {
        await fh.close();
      }
    } catch {
      return null;
    }
    state.offset += got;
    this.bytes += got;
    const data = state.partial.length > 0 ? Buffer.concat([state.partial, buf.subarray(0, got)]) : buf.subarray(0, got);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      onLine(data.toString('utf8', start, nl), mtimeMs);
      start = nl + 1;
    }
    // A copy, so the rest of the read buffer is not kept alive by a few bytes of an unfinished line.
    state.partial = Buffer.from(data.subarray(start));
    return mtimeMs;
  }
}
