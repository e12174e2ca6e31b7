// tsc compiles only .ts: copy the Lua scripts next to the compiled JS so the built image and `dist/` are complete.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const assetDirs = ['dedup-worker/lua'];
for (const dir of assetDirs) {
  mkdirSync(join('dist', dir), { recursive: true });
  for (const name of readdirSync(dir)) cpSync(join(dir, name), join('dist', dir, name));
}
