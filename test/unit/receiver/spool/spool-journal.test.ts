import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpoolSyncError } from '../../../../receiver/spool/group-sync.js';
import { SpoolFullError, SpoolJournal } from '../../../../receiver/spool/spool-journal.js';

const dir = () => mkdtempSync(join(tmpdir(), 'fanin-spool-'));
const open = (d: string, extra: Partial<ConstructorParameters<typeof SpoolJournal>[0]> = {}) =>
  new SpoolJournal({ dir: d, segmentBytes: 100, maxBytes: 10_000, fsync: 'never', ...extra });
const rec = (i: number) => Buffer.from(`record-${String(i).padStart(4, '0')}-${'x'.repeat(30)}`);

describe('spool journal', () => {
  it('hands records out in order across segments and deletes a segment once all its records are released', () => {
    const d = dir();
    const j = open(d);
    for (let i = 0; i < 10; i++) void j.append(rec(i));
    assert.ok(j.segmentCount > 2, 'rotated into several segments');
    const out = [];
    for (let r = j.next(); r; r = j.next()) out.push(r);
    assert.deepEqual(
      out.map((r) => r.bytes.toString()),
      Array.from({ length: 10 }, (_, i) => rec(i).toString()),
    );
    for (const r of out.slice(0, 5)) j.release(r);
    assert.ok(j.segmentCount < 5 && j.hasData);
    for (const r of out.slice(5)) j.release(r);
    assert.equal(j.hasData, false);
    assert.equal(j.bytes, 0);
    assert.deepEqual(readdirSync(d), []);
  });

  it('survives a restart: a new journal on the same directory replays every complete record', async () => {
    const d = dir();
    const j = open(d);
    for (let i = 0; i < 7; i++) void j.append(rec(i));
    await j.close();
    const again = open(d);
    assert.equal(again.unread, 7);
    const out = [];
    for (let r = again.next(); r; r = again.next()) out.push(r.bytes.toString());
    assert.deepEqual(
      out,
      Array.from({ length: 7 }, (_, i) => rec(i).toString()),
    );
  });

  it('skips a torn record at a segment tail (a crash mid-write) and keeps the complete ones', async () => {
    const d = dir();
    const j = open(d, { segmentBytes: 1_000_000 });
    for (let i = 0; i < 3; i++) void j.append(rec(i));
    await j.close();
    const [file] = readdirSync(d);
    const path = join(d, file!);
    truncateSync(path, statSync(path).size - 5);
    appendFileSync(path, Buffer.alloc(0));
    const again = open(d, { segmentBytes: 1_000_000 });
    const out = [];
    for (let r = again.next(); r; r = again.next()) out.push(r.bytes.toString());
    assert.deepEqual(out, [rec(0).toString(), rec(1).toString()]);
  });

  it('refuses appends past its size bound', () => {
    const j = open(dir(), { maxBytes: 200 });
    void j.append(rec(0));
    void j.append(rec(1));
    assert.throws(() => {
      for (let i = 0; i < 10; i++) void j.append(rec(i));
    }, SpoolFullError);
  });

  it('rewind hands out unconfirmed records again and ignores releases from before it', () => {
    const j = open(dir());
    for (let i = 0; i < 4; i++) void j.append(rec(i));
    const first = j.next()!;
    const second = j.next()!;
    j.release(first);
    j.rewind();
    j.release(second); // a confirm that raced the rewind must not delete anything
    const out = [];
    for (let r = j.next(); r; r = j.next()) out.push(r);
    assert.equal(out.length, 4, 'everything still on disk is handed out again');
    for (const r of out) j.release(r);
    assert.equal(j.hasData, false);
  });

  it('with fsync=always, an append is durable only once its sync completed; records stay in append order', async () => {
    const syncs: { fd: number; done: (err?: Error) => void }[] = [];
    let diskAnswersAtOnce = false;
    const syncFile = (fd: number) =>
      diskAnswersAtOnce
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => syncs.push({ fd, done: (err) => (err ? reject(err) : resolve()) }));
    const d = dir();
    const j = open(d, { fsync: 'always', syncFile, segmentBytes: 1_000_000 });
    let durable = 0;
    const first = j.append(rec(0)).then(() => durable++);
    await new Promise((r) => setImmediate(r));
    assert.equal(durable, 0, 'written, not yet synced');
    assert.equal(syncs.length, 1);
    const second = j.append(rec(1)).then(() => durable++);
    syncs[0]!.done();
    await first;
    assert.equal(durable, 1, 'the sync that ran before the second append does not cover it');
    await new Promise((r) => setImmediate(r));
    syncs[1]!.done();
    await second;
    const failed = j.append(rec(2));
    await new Promise((r) => setImmediate(r));
    syncs[2]!.done(new Error('EIO'));
    await assert.rejects(failed, SpoolSyncError);
    diskAnswersAtOnce = true;
    await j.close();
    const again = open(d, { segmentBytes: 1_000_000 });
    const out = [];
    for (let r = again.next(); r; r = again.next()) out.push(r.bytes.toString());
    assert.deepEqual(
      out,
      [0, 1, 2].map((i) => rec(i).toString()),
      'order on disk is the append order',
    );
  });
});
