// Writes docs/configuration.md from the settings table (shared/config/settings.ts and each sink folder's settings.ts), through the compiled
// generator: run `npm run build` first. test/unit/shared/config/settings-doc.test.ts fails while the file and the table differ.
import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../dist/shared/config/settings-markdown.js';

const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, configurationMarkdown());
process.stdout.write(`wrote ${target.pathname}\n`);
