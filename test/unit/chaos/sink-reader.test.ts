import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { SinkReader } from '../../../chaos/sink-reader.js';

const RUN = 'abc123';

/** One sink line of this run; every line the same length, as the run's lines of one shape are. */
function line(seq: number): string {
  return `${JSON.stringify({ id: `id-${seq}`, message: `chaos=${RUN}:${seq} x`, received_at: new Date(0).toISOString(), receiver: 'a' })}\n`;
}

describe('chaos sink reader', () => {
  it('judges the run on what the file holds when the sink cut a torn append off after a poll had read it', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'fanin-sink-reader-'));
    try {
      const file = join(dir, 'events.2026-01-01-00.ndjson');
      await writeFile(file, line(100) + line(101));
      const reader = new SinkReader([{ path: dir, secondary: false }], RUN);
      await reader.poll();
      const cut = (await stat(file)).size;
      // A torn append that happened to end on a line boundary: a poll reads it as a whole line...
      await appendFile(file, line(102));
      await reader.poll();
      // ...then the sink cuts it off and writes the next batch where it was (seq 102 went to the secondary).
      await truncate(file, cut);
      await appendFile(file, line(103) + line(104));
      await reader.poll();
      await reader.stop();
      assert.deepEqual(
        Array.from(reader.lines(), (l) => l.seq),
        [100, 101, 103, 104],
      );
      assert.equal(reader.count, 4);
      assert.equal(reader.unparseable, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the landing time of the poll that first saw a line', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'fanin-sink-reader-'));
    try {
      const file = join(dir, 'events.2026-01-01-00.ndjson');
      await writeFile(file, line(1));
      const reader = new SinkReader([{ path: dir, secondary: false }], RUN);
      await reader.poll();
      const [first] = Array.from(reader.lines());
      await new Promise((r) => setTimeout(r, 20));
      await reader.stop();
      const [after] = Array.from(reader.lines());
      assert.equal(after!.landedAt, first!.landedAt);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
