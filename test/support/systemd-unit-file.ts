import { readFileSync } from 'node:fs';

/**
 * A systemd unit file (or drop-in) as its assignments in order, enough for tests to read what a unit sets: sections,
 * `Key=value` lines, comments. Continuation lines are not used in fanin's units and are refused.
 */
export class UnitFile {
  private constructor(
    readonly path: string,
    private readonly assignments: readonly { section: string; key: string; value: string }[],
  ) {}

  static read(path: string): UnitFile {
    const assignments: { section: string; key: string; value: string }[] = [];
    let section = '';
    for (const [n, raw] of readFileSync(path, 'utf8').split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      if (line.endsWith('\\')) throw new Error(`${path}:${n + 1}: continuation lines are not expected`);
      const header = /^\[(.+)\]$/.exec(line);
      if (header) {
        section = header[1]!;
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0 || section === '') throw new Error(`${path}:${n + 1}: not a Key=value line in a section: ${line}`);
      assignments.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
    }
    return new UnitFile(path, assignments);
  }

  /** Every value assigned to `key` in `section`, in order (an empty one included: it resets a list). */
  values(section: string, key: string): string[] {
    return this.assignments.filter((a) => a.section === section && a.key === key).map((a) => a.value);
  }

  /** The value of a single-valued setting: the last assignment wins, as in systemd; undefined when never set. */
  last(section: string, key: string): string | undefined {
    return this.values(section, key).at(-1);
  }

  /** Environment= assignments as NAME -> value, one NAME=value per line. */
  environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const v of this.values('Service', 'Environment')) {
      const eq = v.indexOf('=');
      env[v.slice(0, eq)] = v.slice(eq + 1);
    }
    return env;
  }
}

/** The specifiers fanin's units use, for a system service: %i the instance, %S the state directory root. */
export function expandSpecifiers(value: string, instance: string): string {
  return value.replace(/%[iIS%]/g, (s) => (s === '%S' ? '/var/lib' : s === '%%' ? '%' : instance));
}

/** An EnvironmentFile=: NAME=value lines; blank lines and # comments skipped. */
export function readEnvironmentFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}
