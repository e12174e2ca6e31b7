import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../test/support/free-ports.js';
import { portOpen, sleep, until } from './util.js';

/**
 * A Redis of the suite's own, without persistence: "restarted empty" is a SIGKILL and a fresh start on the same port,
 * which is what a Redis without AOF does after a crash.
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;

  private constructor(readonly dir: string, readonly port: number) {}

  static async create(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true });
    const [port] = await freePorts(1);
    return new PrivateRedis(dir, port!);
  }

  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    const out = openSync(join(this.dir, 'redis.out'), 'a');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    this.child = child;
    let dead = false;
    child.once('exit', () => { dead = true; });
    await until(`redis on port ${this.port}`, () => portOpen(this.port), 20_000, 50,
      () => dead ? `redis-server exited during start; see ${join(this.dir, 'redis.out')}` : null);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid) process.kill(this.child.pid, signal);
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(10_000)]);
  }
}
