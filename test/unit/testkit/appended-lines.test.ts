import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendedLines } from '../../../testkit/appended-lines.js';

describe('AppendedLines (the bench and chaos sink followers)', () => {
  it('hands over each complete line once, holds an unfinished one until its newline, and survives a missing file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-appended-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'events.ndjson');
    const follower = new AppendedLines();
    const seen: string[] = [];
    const collect = (text: string) => {
      seen.push(text);
    };

    assert.equal(await follower.read(path, collect), null, 'a file not written yet reads as nothing');
    writeFileSync(path, '{"id":"1"}\n{"id":"2"}\n{"id":');
    assert.equal(typeof (await follower.read(path, collect)), 'number');
    assert.deepEqual(seen, ['{"id":"1"}', '{"id":"2"}']);

    await follower.read(path, collect);
    assert.deepEqual(seen, ['{"id":"1"}', '{"id":"2"}'], 'nothing new: nothing handed over again');

    appendFileSync(path, '"3","m":"é"}\n');
    await follower.read(path, collect);
    assert.deepEqual(seen, ['{"id":"1"}', '{"id":"2"}', '{"id":"3","m":"é"}'], 'the held part is joined to its end');
    assert.equal(follower.bytes, Buffer.byteLength('{"id":"1"}\n{"id":"2"}\n{"id":"3","m":"é"}\n'));
  });
});
