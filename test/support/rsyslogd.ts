import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../../testkit/services.js';

const MODULE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/rsyslog',
  '/usr/lib/aarch64-linux-gnu/rsyslog',
  '/usr/lib/rsyslog',
  '/usr/lib64/rsyslog',
];

/** Why rsyslog tests cannot run here (null: they can). Debian packages: rsyslog, and rsyslog-gnutls for `gtls`. */
export function rsyslogMissing(needGtls: boolean): string | null {
  if (spawnSync('rsyslogd', ['-v'], { stdio: 'ignore' }).error)
    return 'rsyslogd not installed (Debian: apt-get install rsyslog rsyslog-gnutls)';
  if (needGtls && !MODULE_DIRS.some((d) => existsSync(join(d, 'lmnsd_gtls.so'))))
    return 'rsyslog gtls driver not installed (Debian: apt-get install rsyslog-gnutls)';
  return null;
}

/**
 * Why RELP tests cannot run here (null: they can): rsyslogd and omrelp, Debian's rsyslog-relp. RSYSLOG_MODDIR (rsyslog's
 * own variable for its module directory, inherited by the private rsyslogd) is looked in first.
 */
export function rsyslogRelpMissing(): string | null {
  const missing = rsyslogMissing(false);
  if (missing) return missing;
  const dirs = [process.env.RSYSLOG_MODDIR, ...MODULE_DIRS].filter((d): d is string => d !== undefined && d !== '');
  if (!dirs.some((d) => existsSync(join(d, 'omrelp.so'))))
    return 'rsyslog omrelp not installed (Debian: apt-get install rsyslog-relp)';
  return null;
}

/**
 * A private rsyslogd (`rsyslogd -n -f <conf> -i <pidfile>`) run as a child: its own config, work directory and pid
 * file in `dir`, nothing of the system's rsyslog touched. Ready once its imtcp input on `inputPort` accepts.
 */
export class Rsyslogd {
  output = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(dir: string, config: string, inputPort: number): Promise<Rsyslogd> {
    mkdirSync(join(dir, 'work'), { recursive: true });
    const confFile = join(dir, 'rsyslog.conf');
    writeFileSync(confFile, config);
    const child = spawn('rsyslogd', ['-n', '-f', confFile, '-i', join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = new Rsyslogd(child);
    child.stdout?.on('data', (d: Buffer) => {
      r.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      r.output += d.toString();
    });
    await waitFor(
      `rsyslogd input on ${inputPort}`,
      () => {
        if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${r.output}`);
        return new Promise<true | undefined>((resolve) => {
          const s = connect(inputPort, '127.0.0.1', () => {
            s.end();
            resolve(true);
          });
          s.on('error', () => resolve(undefined));
        });
      },
      15_000,
    );
    return r;
  }

  /** SIGTERM (rsyslog saves its queues), bounded; SIGKILL past the bound. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** rsyslog config for an imtcp input (plain TCP, loopback) whose messages go to the given ruleset's actions only. */
export function rsyslogInput(inputPort: number, workDir: string, actions: string, globals = ''): string {
  return [
    `global(workDirectory="${workDir}"${globals})`,
    'module(load="imtcp" StreamDriver.Name="ptcp" StreamDriver.Mode="0")',
    `input(type="imtcp" address="127.0.0.1" port="${inputPort}" ruleset="forward")`,
    'ruleset(name="forward") {',
    actions,
    '}',
    '',
  ].join('\n');
}
