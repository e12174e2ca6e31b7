import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFlags } from '../../../cli/fleet/member-command.js';

describe("fleet members' Node flags", () => {
  it("pass fanin up's own flags on and add 32 MiB semi-spaces", () => {
    assert.deepEqual(nodeFlags(['--cpu-prof'], ''), ['--cpu-prof', '--max-semi-space-size=32']);
  });

  it('leave the young generation alone when the operator sized it, on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(nodeFlags(['--max-semi-space-size=64'], ''), ['--max-semi-space-size=64']);
    assert.deepEqual(nodeFlags([], '--max-old-space-size=512 --max-semi-space-size=8'), []);
  });
});
