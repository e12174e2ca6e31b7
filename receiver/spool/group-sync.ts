import { close as closeFd, closeSync, fdatasync } from 'node:fs';
import { promisify } from 'node:util';
import type { Disposition } from '../../shared/errors/disposition.js';

/** Makes everything written to one file descriptor durable (fdatasync); a test stands in with a scripted one. */
export type SyncFile = (fd: number) => Promise<void>;

export const fdatasyncFile: SyncFile = promisify(fdatasync);
const closeFile = promisify(closeFd);

/**
 * A spool record was written but its sync failed, so it is not known to be on disk. Disposition retry: the batch is
 * not acknowledged to its sender, which resends it; the record may still be replayed from the journal, with its batch
 * id, which the dedup script recognises.
 */
export class SpoolSyncError extends Error {
  override readonly name = 'SpoolSyncError';
  readonly code = 'SPOOL_SYNC_FAILED';
  readonly disposition: Disposition = 'retry';
}

interface Round {
  readonly fds: Set<number>;
  /** Descriptors to close once this round's syncs are done (a rotated or deleted segment). */
  readonly retired: Set<number>;
  readonly waiters: { resolve: () => void; reject: (err: Error) => void }[];
}

const newRound = (): Round => ({ fds: new Set(), retired: new Set(), waiters: [] });

/**
 * Group commit for the spool journal, off the event loop: each write asks for durability (`afterWrite`) and gets a
 * promise; one fdatasync per descriptor, run on libuv's thread pool, settles every write made before it started.
 * Writes made while a sync runs wait for the next one, so a promise never resolves on a sync that may have missed its
 * bytes. The journal's writes themselves stay synchronous and in order: only the wait for the disk moves off the
 * loop, so the order of records on disk and their replay do not change.
 */
export class GroupSync {
  private next: Round = newRound();
  /** Descriptors the running round is syncing. */
  private syncing: ReadonlySet<number> = new Set();
  private running: Promise<void> | null = null;

  constructor(private readonly syncFile: SyncFile = fdatasyncFile) {}

  /** Resolves once a sync of `fd` that started after this call has completed; rejects with SpoolSyncError. */
  afterWrite(fd: number): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.next.waiters.push({ resolve, reject }));
    this.next.fds.add(fd);
    this.start();
    return durable;
  }

  /**
   * The journal is done with `fd`: it is closed now when nothing of it waits for a sync, else right after its sync
   * (closing under a running fdatasync could let the number be reused by another file before the sync reads it).
   * `discarded`: the file was deleted (every record in it confirmed by the broker), so its pending writes need no
   * sync and its disk space is freed at once, unless a running sync still holds the descriptor.
   */
  retire(fd: number, discarded = false): void {
    if (discarded) this.next.fds.delete(fd);
    if (!this.syncing.has(fd) && !this.next.fds.has(fd)) {
      closeSync(fd);
      return;
    }
    this.next.fds.add(fd);
    this.next.retired.add(fd);
    this.start();
  }

  /** Resolves when every write so far is settled and every retired descriptor closed. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private start(): void {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  private async run(): Promise<void> {
    // Let the rest of this turn of the loop append too: one sync then covers every batch spooled in it.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.next.fds.size > 0 || this.next.waiters.length > 0) {
      const round = this.next;
      this.next = newRound();
      this.syncing = round.fds;
      const results = await Promise.allSettled([...round.fds].map((fd) => this.syncFile(fd)));
      await Promise.allSettled([...round.retired].map((fd) => closeFile(fd)));
      this.syncing = new Set();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed === undefined) for (const w of round.waiters) w.resolve();
      else {
        const err = new SpoolSyncError(`spool sync failed: ${(failed.reason as Error).message}`);
        for (const w of round.waiters) w.reject(err);
      }
    }
  }
}
