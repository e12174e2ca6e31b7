import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { settings } from '../../../../shared/config/settings.js';
import { configurationMarkdown, settingsTableRows } from '../../../../shared/config/settings-markdown.js';

const CONFIGURATION_DOC = new URL('../../../../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('is the text generated from settings.ts (after adding a setting: npm run build && node scripts/settings-doc.mjs)', () => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    assert.equal(doc, configurationMarkdown(), 'docs/configuration.md differs from the settings table: regenerate it');
  });

  it('has one row per setting, naming its key, variable and default', () => {
    const rows = settingsTableRows();
    assert.equal(rows.length, Object.keys(settings).length);
    for (const [i, s] of Object.values(settings).entries()) {
      assert.ok(rows[i]!.startsWith(`| \`${s.key}\` | \`${s.env}\` | \``), `row ${i} is ${s.key}`);
    }
  });
});
