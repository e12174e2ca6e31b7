import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../../testkit/services.js';

/**
 * Where syslog-ng is: installed (on PATH), or unpacked by .ci/run under SYSLOG_NG_ROOT (default
 * /opt/fanin-syslog-ng). Debian's syslog-ng-core conflicts with rsyslog (both provide system-log-daemon), so where
 * rsyslog is installed CI unpacks the package instead of installing it, and it runs from there with its own library
 * and module directories.
 */
function syslogNgCommand(): { bin: string; args: string[]; env: NodeJS.ProcessEnv } | null {
  if (!spawnSync('syslog-ng', ['--version'], { stdio: 'ignore' }).error)
    return { bin: 'syslog-ng', args: [], env: process.env };
  const root = process.env.SYSLOG_NG_ROOT ?? '/opt/fanin-syslog-ng';
  const bin = join(root, 'usr/sbin/syslog-ng');
  const lib = join(root, 'usr/lib/syslog-ng');
  if (!existsSync(bin)) return null;
  const modules = readdirSync(lib)
    .filter((d) => /^\d+\.\d+$/.test(d))
    .map((d) => join(lib, d));
  return {
    bin,
    args: modules.length > 0 ? [`--module-path=${modules[0]}`] : [],
    env: { ...process.env, LD_LIBRARY_PATH: lib },
  };
}

/** Why syslog-ng tests cannot run here (null: they can). Debian package: syslog-ng-core (see .ci/run). */
export function syslogNgMissing(): string | null {
  const cmd = syslogNgCommand();
  if (!cmd)
    return 'syslog-ng not found (Debian: syslog-ng-core; .ci/run unpacks it to /opt/fanin-syslog-ng beside rsyslog)';
  return spawnSync(cmd.bin, [...cmd.args, '--version'], { stdio: 'ignore', env: cmd.env }).status === 0
    ? null
    : 'syslog-ng does not run (missing libraries?)';
}

/**
 * A private syslog-ng run as a child in the foreground: its own config, persist file, pid file and control socket in
 * `dir`, nothing of the system's syslog touched. Ready once its TCP or TLS listener on `readyPort` accepts.
 */
export class SyslogNg {
  output = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(dir: string, config: string, readyPort: number): Promise<SyslogNg> {
    mkdirSync(dir, { recursive: true });
    const confFile = join(dir, 'syslog-ng.conf');
    writeFileSync(confFile, config);
    const cmd = syslogNgCommand();
    if (!cmd) throw new Error(syslogNgMissing() ?? 'syslog-ng not found');
    const child = spawn(
      cmd.bin,
      [
        ...cmd.args,
        '-F',
        '--no-caps',
        '-f',
        confFile,
        '-R',
        join(dir, 'persist'),
        '-p',
        join(dir, 'syslog-ng.pid'),
        '-c',
        join(dir, 'syslog-ng.ctl'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: cmd.env },
    );
    const s = new SyslogNg(child);
    child.stdout?.on('data', (d: Buffer) => {
      s.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      s.output += d.toString();
    });
    await waitFor(
      `syslog-ng listener on ${readyPort}`,
      () => {
        if (child.exitCode !== null) throw new Error(`syslog-ng exited ${child.exitCode}: ${s.output}`);
        return new Promise<true | undefined>((resolve) => {
          const c = connect(readyPort, '127.0.0.1', () => {
            c.destroy();
            resolve(true);
          });
          c.on('error', () => resolve(undefined));
        });
      },
      15_000,
    );
    return s;
  }

  /** SIGTERM, bounded; SIGKILL past the bound. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
