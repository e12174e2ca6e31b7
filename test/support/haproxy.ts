import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../../testkit/services.js';

/** Why HAProxy tests cannot run here (null: they can). Debian package: haproxy. */
export function haproxyMissing(): string | null {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error
    ? 'haproxy not installed (Debian: apt-get install haproxy)'
    : null;
}

/**
 * A private HAProxy (`haproxy -db -f <conf>`, foreground) run as a child with its own config in `dir`; nothing of the
 * system's haproxy is touched. `config` is everything after `global`/`defaults`; ready once `readyPort` accepts (give
 * it a frontend that rejects connections, so the probe reaches no backend).
 */
export class Haproxy {
  output = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(dir: string, config: string, readyPort: number): Promise<Haproxy> {
    const confFile = join(dir, 'haproxy.cfg');
    writeFileSync(
      confFile,
      [
        'global',
        '  maxconn 500',
        `  pidfile ${join(dir, 'haproxy.pid')}`,
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        '  timeout client 10s',
        '  timeout server 10s',
        `frontend ready`,
        `  bind 127.0.0.1:${readyPort}`,
        '  tcp-request connection reject',
        config,
        '',
      ].join('\n'),
    );
    const child = spawn('haproxy', ['-db', '-f', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const h = new Haproxy(child);
    child.stdout?.on('data', (d: Buffer) => {
      h.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      h.output += d.toString();
    });
    await waitFor(
      `haproxy on ${readyPort}`,
      () => {
        if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${h.output}`);
        return new Promise<true | undefined>((resolve) => {
          const s = connect(readyPort, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(undefined));
        });
      },
      15_000,
    );
    return h;
  }

  /** SIGTERM, bounded; SIGKILL past the bound. */
  async stop(timeoutMs = 5000): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
