// The file sink's background compression of closed files, on a temporary directory: the crash-safe order leaves
// either the plain file or a complete .gz, never a half-written .gz under the final name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ClosedFileGzip, GZIP_TMP_SUFFIX, gzipFile } from '../../../../uploader/file-sink/closed-file-gzip.js';

function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-gzip-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('closed file gzip', () => {
  it('replaces a file by its .gz with the same content', () =>
    withDir(async (dir) => {
      const text = 'line 1\nline 2\n'.repeat(1000);
      writeFileSync(join(dir, 'a.ndjson'), text);
      await gzipFile(dir, 'a.ndjson');
      assert.deepEqual(readdirSync(dir), ['a.ndjson.gz']);
      assert.equal(gunzipSync(readFileSync(join(dir, 'a.ndjson.gz'))).toString(), text);
    }));

  it('leaves the plain file and no temporary file when compression fails', () =>
    withDir(async (dir) => {
      await assert.rejects(gzipFile(dir, 'missing.ndjson'), /ENOENT/);
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.endsWith(GZIP_TMP_SUFFIX)),
        [],
      );
    }));

  it('compresses queued files one at a time, counts failures, and names a file pending until it is done', () =>
    withDir(async (dir) => {
      for (const n of ['x.ndjson', 'y.ndjson']) writeFileSync(join(dir, n), `${n}\n`);
      const errors: string[] = [];
      const gz = new ClosedFileGzip(dir, (file) => errors.push(file));
      gz.enqueue('x.ndjson');
      gz.enqueue('x.ndjson'); // a second enqueue of a pending file is ignored
      gz.enqueue('gone.ndjson');
      gz.enqueue('y.ndjson');
      assert.equal(gz.isPending('x.ndjson'), true);
      await gz.idle();
      assert.equal(gz.isPending('x.ndjson'), false);
      assert.deepEqual(readdirSync(dir).sort(), ['x.ndjson.gz', 'y.ndjson.gz']);
      assert.equal(gz.compressed, 2);
      assert.equal(gz.failed, 1);
      assert.deepEqual(errors, ['gone.ndjson']);
    }));

  it('after close takes no more files and leaves the queued ones plain for the next sweep', () =>
    withDir(async (dir) => {
      for (const n of ['p.ndjson', 'q.ndjson', 'r.ndjson']) writeFileSync(join(dir, n), `${n}\n`);
      const gz = new ClosedFileGzip(dir, () => undefined);
      gz.enqueue('p.ndjson');
      gz.enqueue('q.ndjson');
      await gz.close();
      gz.enqueue('r.ndjson');
      const files = readdirSync(dir).sort();
      assert.ok(files.includes('q.ndjson') && files.includes('r.ndjson'), files.join(' '));
      assert.equal(gz.isPending('q.ndjson'), false);
      assert.ok(gz.compressed <= 1);
    }));
});
