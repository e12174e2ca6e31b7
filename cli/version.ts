import { readFileSync } from 'node:fs';

/**
 * fanin's version, read from package.json when asked rather than compiled in, so it is always the package's own.
 * The compiled file sits at dist/cli/ both in the repository and in an installed npm tarball, two levels below it.
 */
export function faninVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name?: string;
    version?: string;
  };
  if (pkg.name !== 'fanin' || typeof pkg.version !== 'string')
    throw new Error("package.json next to fanin is not fanin's");
  return pkg.version;
}
