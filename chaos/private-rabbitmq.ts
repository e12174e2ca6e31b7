import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { freePorts } from '../testkit/free-ports.js';
import type { ProcessCgroup } from './process-cgroup.js';
import { pidsWithCmdline, portOpen, run, sleep, until } from './util.js';

/**
 * A RabbitMQ node of the suite's own (own node name, ports, data and log directories), so stopping it, restarting it
 * and raising its memory alarm never touches the shared broker on 5672. Its data directory survives a stop, so the
 * quorum queues and the messages in them survive a restart, as in production.
 */
export class PrivateRabbitMQ {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly distPort: number,
    readonly nodeName: string,
    /** When set, the node runs inside it (a partition can then drop everything the node sends). */
    readonly cgroup: ProcessCgroup | null,
  ) {}

  /**
   * `ports` pins the AMQP and distribution ports (a caller with a port range of its own); by default two free ports.
   */
  static async create(
    dir: string,
    namePrefix = 'fanin-chaos',
    ports?: { amqp: number; dist: number },
    cgroup: ProcessCgroup | null = null,
  ): Promise<PrivateRabbitMQ> {
    // 25672 is the shared node's distribution port: freePorts never hands it out while that node runs.
    const [port, distPort] = ports ? [ports.amqp, ports.dist] : await freePorts(2);
    const node = new PrivateRabbitMQ(
      dir,
      port!,
      distPort!,
      `${namePrefix}-${randomBytes(4).toString('hex')}@localhost`,
      cgroup,
    );
    mkdirSync(join(dir, 'mnesia'), { recursive: true });
    mkdirSync(join(dir, 'log'), { recursive: true });
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\n`);
    await run('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
    return node;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Starts the node and resolves once its AMQP port accepts connections. */
  async start(timeoutMs = 90_000): Promise<void> {
    const out = openSync(join(this.dir, 'server.out'), 'a');
    const child = spawn(
      this.cgroup ? 'sh' : 'rabbitmq-server',
      this.cgroup ? this.cgroup.shellArgs('rabbitmq-server') : [],
      {
        cwd: '/tmp',
        env: {
          ...process.env,
          RABBITMQ_NODENAME: this.nodeName,
          RABBITMQ_NODE_PORT: String(this.port),
          RABBITMQ_DIST_PORT: String(this.distPort),
          RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(this.dir, 'log'),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
          RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
        },
        stdio: ['ignore', out, out],
        detached: true,
      },
    );
    closeSync(out);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let dead = false;
    void this.exited.then(() => {
      dead = true;
    });
    await until(
      `RabbitMQ ${this.nodeName} on port ${this.port}`,
      () => portOpen(this.port),
      timeoutMs,
      250,
      () => (dead ? `rabbitmq-server exited during start; see ${join(this.dir, 'server.out')}` : null),
    );
  }

  /** `rabbitmqctl stop`: a clean shutdown (data kept). Falls back to SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.child) return;
    try {
      await this.ctl(['stop'], 60_000);
    } catch {
      await this.kill();
    }
    await Promise.race([this.exited, sleep(20_000)]);
    this.child = null;
  }

  /**
   * SIGKILL our node's processes, found by their unique node name: a crash of the node (a fault), or the last resort
   * of a cleanup. The Erlang VM takes the node name from RABBITMQ_NODENAME, not its command line, so the name is
   * looked for in each process's environment (every process of the node's tree inherits it from our spawn).
   */
  async kill(): Promise<void> {
    const pids = [
      ...(await pidsWithCmdline(this.nodeName)),
      ...(await pidsWithEnvironment(`RABBITMQ_NODENAME=${this.nodeName}`)),
    ];
    if (this.child?.pid) pids.push(this.child.pid);
    for (const pid of new Set(pids)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (this.child) await Promise.race([this.exited, sleep(5000)]);
    this.child = null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** 0.00001 raises the memory alarm at once (every publishing connection is blocked); 0.4 clears it. */
  async setMemoryWatermark(fraction: number): Promise<void> {
    await this.ctl(['set_vm_memory_high_watermark', String(fraction)], 30_000);
  }

  /** Messages in a queue, or null when the broker or the queue is not there. */
  async queueDepth(queue: string): Promise<number | null> {
    try {
      const model = await connect(this.url);
      model.on('error', () => undefined);
      try {
        const ch = await model.createChannel();
        ch.on('error', () => undefined);
        return (await ch.checkQueue(queue)).messageCount;
      } finally {
        await model.close().catch(() => undefined);
      }
    } catch {
      return null;
    }
  }

  /** `rabbitmqctl -n <this node> ...`. */
  ctl(args: readonly string[], timeoutMs: number): Promise<string> {
    return run('rabbitmqctl', ['-n', this.nodeName, ...args], timeoutMs);
  }
}

/** Pids of processes whose environment holds the exact `NAME=value` entry, excluding ourselves. */
async function pidsWithEnvironment(entry: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if ((await readFile(`/proc/${name}/environ`, 'utf8')).split('\0').includes(entry)) pids.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}
