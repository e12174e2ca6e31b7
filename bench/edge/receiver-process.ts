import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseProcNetUdp } from '../../receiver/inputs/udp-kernel-stats.js';
import { clockTicksPerSecond, readCpuTicks, readRssKb } from '../lib/proc.js';

/** What the edge bench reads of one receiver at an instant; the difference of two readings is a step's result. */
export interface EdgeReading {
  /** fanin_receiver_events_received_total, UDP and TCP. */
  readonly udpReceived: number;
  readonly tcpReceived: number;
  /** fanin_receiver_udp_drops_total, every reason (the receiver's own drops: buffer_full while spooling). */
  readonly udpAppDrops: number;
  /** The `drops` column of the socket's row in /proc/net/udp. */
  readonly udpKernelDrops: number;
  readonly rxQueueBytes: number;
  readonly spooledBatches: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
}

export interface EdgeReceiverOptions {
  /** dist/cli/fanin.js of the build under test (another build for an A/B run). */
  readonly entry: string;
  readonly namespace: string;
  readonly amqpUrl: string;
  readonly syslogPort: number;
  readonly metricsPort: number;
  /** Extra FANIN_* settings (the spool's fsync, batch bounds). */
  readonly env?: Readonly<Record<string, string>>;
}

function sumCounter(text: string, name: string, labelFilter: string | null): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (labelFilter !== null && !line.includes(labelFilter)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/**
 * One `fanin receiver` child process with only its syslog input (UDP and TCP on one port), a spool in a temporary
 * directory, and its log in that directory. The bench owns it: it is killed at the end of every phase.
 */
export class EdgeReceiver {
  private readonly child: ChildProcess;
  private readonly dir: string;

  constructor(private readonly options: EdgeReceiverOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'fanin-edge-'));
    const log = openSync(join(this.dir, 'receiver.log'), 'a');
    this.child = spawn(process.execPath, [options.entry, 'receiver'], {
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '',
        FANIN_NAMESPACE: options.namespace,
        FANIN_AMQP_URL: options.amqpUrl,
        FANIN_LOG_LEVEL: 'warn',
        FANIN_RECEIVER_ID: 'edge',
        FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
        FANIN_RECEIVER_SYSLOG_PORT: String(options.syslogPort),
        FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
        FANIN_RECEIVER_HTTP_PORT: '0',
        FANIN_RECEIVER_FORWARD_PORT: '0',
        FANIN_RECEIVER_RELP_PORT: '0',
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: String(options.metricsPort),
        FANIN_RECEIVER_SPOOL_DIR: join(this.dir, 'spool'),
        ...options.env,
      },
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get logPath(): string {
    return join(this.dir, 'receiver.log');
  }

  /** Waits until /metrics answers and the UDP socket is bound (with `ready`: until /readyz says the broker is up). */
  async started(ready: boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      const path = ready ? '/readyz' : '/metrics';
      const ok = await fetch(`http://127.0.0.1:${this.options.metricsPort}${path}`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok && this.udpRow() !== null) return;
      await sleep(200);
    }
    let tail = '';
    try {
      tail = readFileSync(this.logPath, 'utf8').slice(-2000);
    } catch {
      // no log yet
    }
    throw new Error(`receiver did not start within ${timeoutMs} ms: ${tail}`);
  }

  private udpRow() {
    const rows = parseProcNetUdp(readFileSync('/proc/net/udp', 'utf8'));
    return rows.find((r) => r.localPort === this.options.syslogPort) ?? null;
  }

  async read(): Promise<EdgeReading> {
    const text = await fetch(`http://127.0.0.1:${this.options.metricsPort}/metrics`).then((r) => r.text());
    const row = this.udpRow();
    return {
      udpReceived: sumCounter(text, 'fanin_receiver_events_received_total{', 'transport="udp"'),
      tcpReceived: sumCounter(text, 'fanin_receiver_events_received_total{', 'transport="tcp"'),
      udpAppDrops: sumCounter(text, 'fanin_receiver_udp_drops_total{', null),
      udpKernelDrops: row?.drops ?? 0,
      rxQueueBytes: row?.rxQueueBytes ?? 0,
      spooledBatches: sumCounter(text, 'fanin_receiver_spooled_batches_total', null),
      cpuSeconds: (readCpuTicks(this.pid) ?? 0) / clockTicksPerSecond(),
      rssMiB: Math.round((readRssKb(this.pid) ?? 0) / 102.4) / 10,
    };
  }

  /** Waits until the socket's receive queue is empty and the counters stop moving (bounded). */
  async settled(timeoutMs = 5000): Promise<EdgeReading> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.read();
    while (Date.now() < deadline) {
      await sleep(150);
      const now = await this.read();
      const still =
        now.rxQueueBytes === 0 && now.udpReceived === last.udpReceived && now.tcpReceived === last.tcpReceived;
      last = now;
      if (still) break;
    }
    return last;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
