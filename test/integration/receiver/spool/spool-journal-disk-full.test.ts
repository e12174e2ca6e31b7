import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpoolFullError, SpoolJournal } from '../../../../receiver/spool/spool-journal.js';

// A real full disk: a small tmpfs mounted for the test (needs root and `mount`), so it lives outside the unit tier.
describe('spool journal on a full disk', () => {
  it('cuts a partial record back so the records after it still replay (a 64 KiB tmpfs)', async () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'fanin-spool-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
    try {
      const j = new SpoolJournal({
        dir: join(mountPoint, 'c'),
        segmentBytes: 16_384,
        maxBytes: 1 << 30,
        fsync: 'always',
      });
      const record = (i: number) =>
        Buffer.concat([Buffer.from(`${String(i).padStart(6, '0')}:`), Buffer.alloc(993, 0x61)]);
      const durable: Promise<void>[] = [];
      let appended = 0;
      let full: unknown = null;
      for (let i = 0; i < 1000 && full === null; i++) {
        try {
          durable.push(j.append(record(i)));
          appended++;
        } catch (err) {
          full = err;
        }
      }
      assert.ok(full instanceof SpoolFullError, `disk full reported as SpoolFullError, got ${String(full)}`);
      // Free the first segment, then keep appending: the record after the failed one must survive a replay.
      const first: ReturnType<typeof j.next>[] = [];
      for (let r = j.next(); r && r.segment === 1; r = j.next()) first.push(r);
      j.rewind();
      for (let r = j.next(); r && r.segment === 1; r = j.next()) j.release(r);
      // The freed segment's file was written in this same turn: it is closed (its space returned) after its sync.
      await j.settled();
      durable.push(j.append(record(5000)));
      await Promise.all(durable);
      await j.close();
      const again = new SpoolJournal({
        dir: join(mountPoint, 'c'),
        segmentBytes: 16_384,
        maxBytes: 1 << 30,
        fsync: 'always',
      });
      const replayed: string[] = [];
      for (let r = again.next(); r; r = again.next()) replayed.push(r.bytes.subarray(0, 6).toString());
      assert.ok(replayed.includes('005000'), 'the record written after the disk-full failure replays');
      assert.equal(again.corruptRecordsSkipped, 0);
      assert.ok(first.length > 0 && appended > 16);
      await again.close();
    } finally {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
});
