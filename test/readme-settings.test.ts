import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { settings } from '../shared/config/settings.js';

const README = new URL('../../README.md', import.meta.url);

/** The README's settings table, row for row as settings.ts defines them (the README must stay true). */
function settingsTableRows(): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return Object.values(settings).map((s) => `| \`${s.key}\` | \`${s.env}\` | \`${cell(JSON.stringify(s.default))}\` | ${cell(s.doc)} |`);
}

describe('README settings table', () => {
  it('lists every setting with its variable, default and meaning as settings.ts defines them', () => {
    const readme = readFileSync(README, 'utf8').split('\n');
    const start = readme.findIndex((l) => l.startsWith('| key (config file) | environment variable | default | meaning |'));
    assert.ok(start >= 0, 'the table header is in README.md');
    const rows = readme.slice(start + 2).filter((_, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('|')));
    assert.deepEqual(rows, settingsTableRows(), 'README.md settings table differs from settings.ts (expected rows in the diff)');
  });
});
