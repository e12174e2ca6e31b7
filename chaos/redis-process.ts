import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { portOpen, sleep, until } from './util.js';

/** One redis-server (or sentinel) child of the suite, in its own directory, logging to <dir>/redis.out. */
export class RedisProcess {
  private child: ChildProcess | null = null;

  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly args: readonly string[],
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const out = openSync(join(this.dir, 'redis.out'), 'a');
    const child = spawn('redis-server', [...this.args], { cwd: this.dir, stdio: ['ignore', out, out] });
    closeSync(out);
    this.child = child;
    let dead = false;
    child.once('exit', () => {
      dead = true;
    });
    await until(
      `redis on port ${this.port}`,
      () => portOpen(this.port),
      20_000,
      50,
      () => (dead ? `redis-server exited during start; see ${join(this.dir, 'redis.out')}` : null),
    );
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    // Unref'd: once the process is gone the bound must not hold the caller's event loop open for its remainder.
    await Promise.race([exited, sleep(10_000, undefined, { ref: false })]);
  }
}

function tcpFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports in 17000-27999 that are free, each with port + `pairedOffset` free as well (a cluster node's bus port
 * is its port + 10000, outside what port 0 would hand out). Random start, bounded attempts.
 */
export async function freePortsWithPairs(count: number, pairedOffset = 10_000): Promise<number[]> {
  const ports: number[] = [];
  let candidate = 17_000 + Math.floor(Math.random() * 10_000);
  for (
    let attempt = 0;
    ports.length < count && attempt < count * 50;
    attempt++, candidate = 17_000 + ((candidate - 17_000 + 7) % 11_000)
  ) {
    if (ports.includes(candidate) || ports.includes(candidate + pairedOffset)) continue;
    if ((await tcpFree(candidate)) && (await tcpFree(candidate + pairedOffset))) ports.push(candidate);
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free port pairs`);
  return ports;
}
