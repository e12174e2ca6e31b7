import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FileSink } from '../../../uploader/file-sink/file-sink.js';
import { hourlyFileName } from '../../../uploader/ndjson/ndjson-line.js';
import { compileFileNamePattern } from '../../../uploader/ndjson/path-pattern.js';
import { processedBatch } from '../../../testkit/sink-fixtures.js';

const HOUR = 3_600_000;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fanin-filesink-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every event id in the directory, plain and gzipped files alike. */
function idsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('events.') && !f.endsWith('.tmp'))
    .flatMap((f) => {
      const raw = readFileSync(join(dir, f));
      const text = f.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id);
    });
}

describe('file name patterns', () => {
  it('reproduces the hourly UTC name by default', () => {
    const p = compileFileNamePattern('events.%Y-%m-%d-%H.ndjson', 'utc');
    for (const t of [Date.UTC(2026, 10, 23, 2, 59, 59), Date.UTC(2027, 0, 1, 0, 0, 0), Date.UTC(2026, 1, 28, 23, 30)]) {
      assert.equal(p.format(t), hourlyFileName(t));
    }
  });

  it('puts roll indices before the extension and parses its own names back', () => {
    const p = compileFileNamePattern('events.%Y-%m-%d-%H.ndjson', 'utc');
    const base = p.format(Date.UTC(2026, 10, 23, 2));
    assert.equal(p.withIndex(base, 0), 'events.2026-11-23-02.ndjson');
    assert.equal(p.withIndex(base, 3), 'events.2026-11-23-02.3.ndjson');
    assert.deepEqual(p.parse('events.2026-11-23-02.3.ndjson.gz'), { base, index: 3, gzipped: true });
    assert.deepEqual(p.parse('events.2026-11-23-02.ndjson'), { base, index: 0, gzipped: false });
    assert.equal(p.parse('rejected.ndjson'), null);
    assert.equal(p.parse('events.2026-11-23-02.ndjson.gz.tmp'), null);
    const noExt = compileFileNamePattern('log-%Y%m%d', 'utc');
    assert.equal(noExt.withIndex('log-20261123', 2), 'log-20261123.2');
    assert.deepEqual(noExt.parse('log-20261123.2.gz'), { base: 'log-20261123', index: 2, gzipped: true });
  });

  it('formats every conversion, in UTC or local time', () => {
    const t = Date.UTC(2026, 2, 1, 4, 5, 6);
    assert.equal(
      compileFileNamePattern('%Y %y %m %d %H %M %S %j %z %%.x', 'utc').format(t),
      '2026 26 03 01 04 05 06 060 +0000 %.x',
    );
    const tz = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York';
      assert.equal(compileFileNamePattern('e.%Y-%m-%d-%H%z.log', 'local').format(t), 'e.2026-02-28-23-0500.log');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('refuses what it cannot honour', () => {
    assert.throws(() => compileFileNamePattern('events.%Q.log', 'utc'), /unsupported conversion %Q/);
    assert.throws(() => compileFileNamePattern('events.log', 'utc'), /no time conversion/);
    assert.throws(() => compileFileNamePattern('%Y/%m/events.log', 'utc'), /no directories/);
  });
});

describe('file sink rotation and compression', () => {
  it('writes the hourly file of docs/design.md §5 by default', async () => {
    const dir = tmp();
    const now = Date.now();
    const sink = new FileSink({ dir, fsync: true });
    const r = await sink.write([processedBatch('a', 5, now)]);
    await sink.close();
    assert.equal(r.written, 5);
    assert.deepEqual(readdirSync(dir), [hourlyFileName(now)]);
    const first = JSON.parse(readFileSync(join(dir, hourlyFileName(now)), 'utf8').split('\n')[0]!) as Record<
      string,
      unknown
    >;
    assert.equal(Object.keys(first)[0], 'id');
    assert.equal(first.received_at, new Date(now).toISOString());
  });

  it('rolls a period to .1, .2… under the size cap and compresses the rolled files', async () => {
    const dir = tmp();
    const now = Date.now();
    const sink = new FileSink({ dir, fsync: false, maxBytes: 8192, gzip: true });
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      const b = processedBatch(`roll${i}`, 10, now);
      sent.push(...b.ids);
      await sink.write([b]);
    }
    await sink.compressionIdle();
    const files = readdirSync(dir).sort();
    const base = hourlyFileName(now);
    const plain = files.filter((f) => !f.endsWith('.gz'));
    assert.equal(plain.length, 1, `one open file: ${files.join(' ')}`);
    assert.ok(files.length >= 3, files.join(' '));
    assert.ok(files.includes(`${base}.gz`), 'index 0 compressed once rolled');
    assert.match(sink.openFiles()[0]!, /^events\.\d{4}-\d{2}-\d{2}-\d{2}\.\d+\.ndjson$/);
    for (const f of plain) assert.ok(statSync(join(dir, f)).size <= 8192);
    for (const f of files.filter((x) => x.endsWith('.gz')))
      assert.ok(gunzipSync(readFileSync(join(dir, f))).length <= 8192);
    await sink.close();
    assert.deepEqual(idsIn(dir).sort(), sent.sort(), 'every event exactly once across plain and gzipped files');
  });

  it('closes and compresses a past hour once idle; a late event for it goes to the next index', async () => {
    const dir = tmp();
    const now = Date.now();
    const past = now - 3 * HOUR;
    // The maintenance below runs 61 s ahead: the current hour is the one of that moment, also in an hour's last minute.
    const later = now + 61_000;
    const sink = new FileSink({ dir, fsync: true, gzip: true, closeIdleMs: 60_000 });
    await sink.write([processedBatch('old', 4, past), processedBatch('new', 4, later)]);
    assert.equal(sink.openFiles().length, 2);
    await sink.maintain(later);
    await sink.compressionIdle();
    const pastBase = hourlyFileName(past);
    assert.ok(existsSync(join(dir, `${pastBase}.gz`)));
    assert.ok(!existsSync(join(dir, pastBase)), 'plain file removed after the .gz is durable');
    assert.deepEqual(sink.openFiles(), [hourlyFileName(later)], 'the current hour stays open');

    await sink.write([processedBatch('late', 2, past)]);
    const late = compileFileNamePattern('events.%Y-%m-%d-%H.ndjson', 'utc').withIndex(pastBase, 1);
    assert.equal(readFileSync(join(dir, late), 'utf8').split('\n').filter(Boolean).length, 2);
    assert.equal(
      gunzipSync(readFileSync(join(dir, `${pastBase}.gz`)))
        .toString()
        .split('\n')
        .filter(Boolean).length,
      4,
      'the .gz is never touched again',
    );
    await sink.close();
    assert.equal(idsIn(dir).length, 10);
  });

  it('finishes what a crash interrupted: stray .gz.tmp removed, plain file with a complete .gz removed, old plain files compressed', async () => {
    const dir = tmp();
    const now = Date.now();
    const p = compileFileNamePattern('events.%Y-%m-%d-%H.ndjson', 'utc');
    const h5 = p.format(now - 5 * HOUR);
    const h4 = p.format(now - 4 * HOUR);
    const line = (id: string) => JSON.stringify({ id }) + '\n';
    // Crash mid-gzip of h5: the plain file is whole, the .tmp is partial.
    writeFileSync(join(dir, h5), line('h5-a') + line('h5-b'));
    writeFileSync(join(dir, `${h5}.gz.tmp`), gzipSync(line('h5-a')).subarray(0, 10));
    // Crash after the rename of h4's .gz, before the unlink of the plain file.
    writeFileSync(join(dir, h4), line('h4-a'));
    writeFileSync(join(dir, `${h4}.gz`), gzipSync(line('h4-a')));
    const old = new Date(now - 2 * HOUR);
    for (const f of [h5, h4]) utimesSync(join(dir, f), old, old);

    const sink = new FileSink({ dir, fsync: true, gzip: true, closeIdleMs: 60_000 });
    await sink.maintain(now);
    await sink.compressionIdle();
    await sink.close();
    assert.deepEqual(readdirSync(dir).sort(), [`${h4}.gz`, `${h5}.gz`].sort());
    assert.deepEqual(idsIn(dir).sort(), ['h4-a', 'h5-a', 'h5-b']);
  });

  it('reopens on SIGUSR1 (reopen): a file moved away by logrotate is recreated', async () => {
    const dir = tmp();
    const now = Date.now();
    const sink = new FileSink({ dir, fsync: false });
    await sink.write([processedBatch('r1', 1, now)]);
    mkdirSync(join(dir, 'rotated'));
    renameSync(join(dir, hourlyFileName(now)), join(dir, 'rotated', 'old.ndjson'));
    await sink.reopen();
    await sink.write([processedBatch('r2', 1, now)]);
    await sink.close();
    assert.deepEqual(idsIn(dir), ['r2-0-1']);
  });

  it('files by local time when asked', async () => {
    const dir = tmp();
    const now = Date.now();
    const sink = new FileSink({ dir, fsync: false, clock: 'local', pattern: 'ev-%Y%m%d%H%z.ndjson' });
    await sink.write([processedBatch('l', 1, now)]);
    await sink.close();
    assert.deepEqual(readdirSync(dir), [compileFileNamePattern('ev-%Y%m%d%H%z.ndjson', 'local').format(now)]);
  });
});
