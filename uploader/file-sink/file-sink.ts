import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeBody, type ProcessedBatch } from '../../shared/batch-codec.js';
import type { Sink, SinkWriteResult } from '../sink.js';
import { formatEventLine, hourlyFileName, isEnvelope } from './ndjson-line.js';

export interface FileSinkOptions {
  readonly dir: string;
  readonly fsync: boolean;
}

/**
 * Newline-delimited JSON, one file per UTC hour. Each call appends all its lines with one write per file and, if
 * configured, fdatasync before resolving, so an ack always follows a durable write. An event whose body does not
 * decode is written to `rejected.ndjson` with the reason instead of being dropped.
 */
export class FileSink implements Sink {
  readonly name = 'file';
  private readonly open = new Map<string, FileHandle>();
  private ready: Promise<void> | null = null;

  constructor(private readonly options: FileSinkOptions) {}

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    // A failed mkdir is not cached: the directory may be fixed while the uploader retries.
    this.ready ??= mkdir(this.options.dir, { recursive: true }).then(() => undefined, (err: Error) => { this.ready = null; throw err; });
    await this.ready;
    const byFile = new Map<string, string[]>();
    const receivedAt: number[] = [];
    let rejected = 0;
    const add = (file: string, line: string) => { const l = byFile.get(file); if (l) l.push(line); else byFile.set(file, [line]); };
    for (const batch of batches) {
      batch.ids.forEach((id, i) => {
        let envelope: unknown;
        let reason = 'not an event envelope';
        try { envelope = decodeBody(batch.bodies[i]!); } catch (err) { reason = `body does not decode: ${(err as Error).message}`; }
        if (isEnvelope(envelope)) {
          add(hourlyFileName(envelope.received_at), formatEventLine(id, envelope));
          receivedAt.push(envelope.received_at);
        } else {
          rejected++;
          add('rejected.ndjson', JSON.stringify({ id, reason, body_base64: Buffer.from(batch.bodies[i]!).toString('base64') }) + '\n');
        }
      });
    }
    await Promise.all([...byFile].map(([file, lines]) => this.append(file, lines.join(''))));
    this.closeStaleHours();
    return { written: receivedAt.length, rejected, receivedAt };
  }

  /** SIGUSR1/rotation: close every file; the next write reopens (appending). */
  async reopen(): Promise<void> {
    const handles = [...this.open.values()];
    this.open.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }

  async close(): Promise<void> { await this.reopen(); }

  private async append(file: string, text: string): Promise<void> {
    let handle = this.open.get(file);
    if (!handle) {
      handle = await open(join(this.options.dir, file), 'a');
      this.open.set(file, handle);
    }
    await handle.appendFile(text);
    if (this.options.fsync) await handle.datasync();
  }

  /** Keep at most the current and the previous hour open (late events of the last hour still append cheaply). */
  private closeStaleHours(): void {
    const hourFiles = [...this.open.keys()].filter((f) => f.startsWith('events.')).sort();
    for (const f of hourFiles.slice(0, -2)) {
      const h = this.open.get(f)!;
      this.open.delete(f);
      void h.close().catch(() => undefined);
    }
  }
}
