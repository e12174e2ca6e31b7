import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { note, sleep, until } from '../util.js';

const CLI = fileURLToPath(new URL('../../cli/fanin.js', import.meta.url));

export interface NetnsReceiverSpec {
  readonly id: string;
  readonly netns: string;
  /** The host's own address, where the root namespace reaches its metrics server. */
  readonly address: string;
  readonly syslogPort: number;
  readonly metricsPort: number;
  readonly amqpUrl: string;
  readonly namespace: string;
  readonly spoolDir: string;
  readonly logPath: string;
  /** Written "0" when the receiver starts and "1" when it exits, as a supervisor's start and stop hooks would. */
  readonly stateFile: string | null;
}

/**
 * `ip netns exec <host> node dist/cli/fanin.js receiver`: a receiver on one simulated host, listening on every
 * address of that host (so on the VIP too, once keepalived adds it), syslog only. `ip netns exec` execs the command,
 * so the child's pid is the receiver's own: SIGKILL hits it and nothing else.
 */
export class NetnsReceiver {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private expectExit = false;

  constructor(readonly spec: NetnsReceiverSpec) {}

  start(): void {
    const s = this.spec;
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FANIN_'))),
      FANIN_NAMESPACE: s.namespace,
      FANIN_AMQP_URL: s.amqpUrl,
      FANIN_RECEIVER_ID: s.id,
      FANIN_LOG_LEVEL: 'warn',
      FANIN_RECEIVER_LISTEN_HOST: '0.0.0.0',
      FANIN_RECEIVER_SYSLOG_PORT: String(s.syslogPort),
      FANIN_RECEIVER_HTTP_PORT: '0',
      FANIN_RECEIVER_FORWARD_PORT: '0',
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
      FANIN_RECEIVER_SPOOL_DIR: s.spoolDir,
      FANIN_METRICS_HOST: '0.0.0.0',
      FANIN_METRICS_PORT: String(s.metricsPort),
      FANIN_DRAIN_TIMEOUT_MS: '8000',
    };
    if (s.stateFile) writeFileSync(s.stateFile, '0\n');
    const log = openSync(s.logPath, 'a');
    const child = spawn('ip', ['netns', 'exec', s.netns, process.execPath, CLI, 'receiver'], {
      env,
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    this.child = child;
    this.expectExit = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (s.stateFile) writeFileSync(s.stateFile, '1\n');
        if (!this.expectExit)
          note(`UNEXPECTED: receiver ${s.id} exited (${signal ?? `code ${code}`}); see ${s.logPath}`);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** GET /readyz from the root namespace: listening and connected to the broker. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const url = `http://${this.spec.address}:${this.spec.metricsPort}/readyz`;
    await until(
      `receiver ${this.spec.id} ready`,
      async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok,
      timeoutMs,
      100,
      () => (this.running ? null : 'the receiver exited'),
    );
  }

  /** SIGKILL (a crash: nothing drained, unconfirmed batches gone); resolves with the time of the signal once it is dead. */
  async kill(): Promise<number> {
    const child = this.child;
    if (!child?.pid || !this.running) throw new Error(`receiver ${this.spec.id} is not running`);
    this.expectExit = true;
    const at = Date.now();
    process.kill(child.pid, 'SIGKILL');
    await this.exited;
    return at;
  }

  /** SIGTERM (drain), SIGKILL after the bound. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child?.pid || !this.running) return;
    this.expectExit = true;
    child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(graceMs)]);
    if (this.running) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await this.exited;
    }
  }
}
