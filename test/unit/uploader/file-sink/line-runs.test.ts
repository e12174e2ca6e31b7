import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineRuns } from '../../../../uploader/file-sink/line-runs.js';

describe('LineRuns (the lines of one file write)', () => {
  it('gives adjacent lines as one view of their block, without a copy', () => {
    const block = Buffer.from('a\nbb\nccc\nrest');
    const runs = new LineRuns();
    runs.append(block.subarray(0, 2));
    runs.append(block.subarray(2, 5));
    runs.append(block.subarray(5, 9));
    const bytes = runs.bytes();
    assert.equal(bytes.toString(), 'a\nbb\nccc\n');
    assert.equal(bytes.buffer, block.buffer, 'a view of the block');
    block[0] = 0x7a;
    assert.equal(bytes.toString(), 'z\nbb\nccc\n', 'the same bytes, not a copy');
  });

  it('keeps order across gaps, other blocks and lines before the run', () => {
    const one = Buffer.from('1\n2\n3\n');
    const two = Buffer.from('x\ny\n');
    const runs = new LineRuns();
    runs.append(one.subarray(0, 2));
    runs.append(one.subarray(4, 6)); // a gap: 2\n went to another file
    runs.append(two.subarray(0, 2));
    runs.append(two.subarray(2, 4));
    runs.append(one.subarray(2, 4)); // before the run it would extend
    runs.append(Buffer.from('own\n'));
    assert.equal(runs.bytes().toString(), '1\n3\nx\ny\n2\nown\n');
  });

  it('gives an empty buffer when no line came', () => {
    assert.equal(new LineRuns().bytes().length, 0);
  });
});
