import { freePorts } from '../testkit/free-ports.js';
import { RedisProcess } from './redis-process.js';

/**
 * A Redis of the suite's own, without persistence: "restarted empty" is a SIGKILL and a fresh start on the same port,
 * which is what a Redis without AOF does after a crash.
 */
export class PrivateRedis {
  private readonly process: RedisProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
    extraArgs: readonly string[],
  ) {
    this.process = new RedisProcess(dir, port, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ]);
  }

  /** On `port`, or a free one; `extraArgs` are more redis-server arguments (a bench's tuning). */
  static async create(dir: string, port?: number, extraArgs: readonly string[] = []): Promise<PrivateRedis> {
    return new PrivateRedis(dir, port ?? (await freePorts(1))[0]!, extraArgs);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    return this.process.start();
  }

  signal(signal: NodeJS.Signals): void {
    const pid = this.process.pid;
    if (pid !== undefined && this.process.running) process.kill(pid, signal);
  }

  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void> {
    return this.process.kill();
  }
}
