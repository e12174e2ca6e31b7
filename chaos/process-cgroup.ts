import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroup v2 is mounted (the unified hierarchy), from /proc/mounts; null when this machine has none. */
export function cgroup2Mount(): string | null {
  try {
    const line = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2');
    return line?.split(' ')[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * A cgroup v2 of the suite's own that a server is started in, so that iptables can match every packet the server's
 * sockets send (`-m cgroup --path`), whichever side opened the connection: an Erlang node dials its peers from
 * ephemeral ports that no port rule could name. A socket is tagged with the cgroup of the process that creates it,
 * so the server must run in the cgroup from its first instruction (see `shellPrefix`).
 */
export class ProcessCgroup {
  private constructor(
    readonly mount: string,
    readonly path: string,
  ) {}

  /** Creates `<mount>/fanin-chaos/<name>`; null when cgroup v2 is not mounted. */
  static create(name: string): ProcessCgroup | null {
    const mount = cgroup2Mount();
    if (!mount) return null;
    const path = join('fanin-chaos', name);
    mkdirSync(join(mount, path), { recursive: true });
    return new ProcessCgroup(mount, path);
  }

  get dir(): string {
    return join(this.mount, this.path);
  }

  /**
   * `sh -c` arguments that move the shell into the cgroup and exec `command`: the server and everything it forks
   * run (and open their sockets) inside it.
   */
  shellArgs(command: string): string[] {
    return ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$1"', this.dir, command];
  }

  /** Removes the cgroup once its processes are gone (a cgroup with members cannot be removed: left for the next run). */
  remove(): void {
    try {
      if (existsSync(this.dir)) rmdirSync(this.dir);
    } catch {
      /* still has members */
    }
  }
}
