// The spool's group commit: a write counts as durable only after a sync that started after it, writes of one turn of
// the loop share a sync, a failed sync fails its writes, and a retired descriptor is closed only after its sync.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupSync, SpoolSyncError } from '../../../../receiver/spool/group-sync.js';

/** A disk whose syncs complete only when the test says so. */
class ScriptedDisk {
  readonly syncs: { fd: number; done: (err?: Error) => void }[] = [];
  readonly syncFile = (fd: number): Promise<void> =>
    new Promise((resolve, reject) => this.syncs.push({ fd, done: (err) => (err ? reject(err) : resolve()) }));
}

const turn = () => new Promise((r) => setImmediate(r));

function watch(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error: unknown } {
  const w = { state: 'pending' as 'pending' | 'resolved' | 'rejected', error: null as unknown };
  p.then(
    () => (w.state = 'resolved'),
    (err: unknown) => {
      w.state = 'rejected';
      w.error = err;
    },
  );
  return w;
}

describe('spool group sync', () => {
  it('settles a write only on a sync that started after it, never on one already running', async () => {
    const disk = new ScriptedDisk();
    const sync = new GroupSync(disk.syncFile);
    const first = watch(sync.afterWrite(7));
    await turn();
    assert.equal(disk.syncs.length, 1, 'one sync started');
    const second = watch(sync.afterWrite(7)); // written while the first sync runs: it may have missed these bytes
    disk.syncs[0]!.done();
    await turn();
    assert.equal(first.state, 'resolved');
    assert.equal(second.state, 'pending', 'the running sync does not count for a later write');
    assert.equal(disk.syncs.length, 2, 'a second sync covers it');
    disk.syncs[1]!.done();
    await sync.idle();
    assert.equal(second.state, 'resolved');
  });

  it('covers every write of one turn of the loop with one sync per descriptor', async () => {
    const disk = new ScriptedDisk();
    const sync = new GroupSync(disk.syncFile);
    const writes = [sync.afterWrite(3), sync.afterWrite(3), sync.afterWrite(3), sync.afterWrite(4)].map(watch);
    await turn();
    assert.deepEqual(
      disk.syncs.map((s) => s.fd),
      [3, 4],
    );
    for (const s of disk.syncs) s.done();
    await sync.idle();
    assert.ok(writes.every((w) => w.state === 'resolved'));
  });

  it('fails the writes of a failed sync with SpoolSyncError, and later writes get a sync of their own', async () => {
    const disk = new ScriptedDisk();
    const sync = new GroupSync(disk.syncFile);
    const lost = watch(sync.afterWrite(5));
    await turn();
    disk.syncs[0]!.done(new Error('EIO'));
    await sync.idle();
    assert.equal(lost.state, 'rejected');
    assert.ok(lost.error instanceof SpoolSyncError);
    const later = watch(sync.afterWrite(5));
    await turn();
    disk.syncs[1]!.done();
    await sync.idle();
    assert.equal(later.state, 'resolved');
  });

  it('closes a retired descriptor only after the sync of what was written to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-group-sync-'));
    try {
      const disk = new ScriptedDisk();
      const sync = new GroupSync(disk.syncFile);
      const fd = openSync(join(dir, 'segment'), 'a');
      const write = watch(sync.afterWrite(fd));
      sync.retire(fd);
      await turn();
      assert.doesNotThrow(() => fstatSync(fd), 'still open while its sync is pending');
      for (const s of disk.syncs) s.done();
      await sync.idle();
      assert.equal(write.state, 'resolved');
      assert.throws(() => fstatSync(fd), /EBADF/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
