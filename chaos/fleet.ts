import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetLauncher } from '../cli/fleet/fleet-launcher.js';
import type { MemberRole } from '../cli/fleet/member-command.js';
import type { MemberExit } from '../cli/fleet/member-process.js';
import { httpNotOk } from '../cli/fleet/readiness.js';
import { settings } from '../shared/config/settings.js';
import { freePorts } from '../testkit/free-ports.js';
import { note, until } from './util.js';

export type Role = MemberRole;

export interface MemberSpec {
  readonly name: string;
  readonly role: Role;
  readonly metricsPort: number;
  readonly env: Record<string, string>;
}

export interface ReceiverPorts {
  readonly id: string;
  readonly syslog: number;
  readonly http: number;
  readonly forward: number;
  readonly metrics: number;
}

export interface FleetLayout {
  readonly namespace: string;
  readonly redisUrl: string;
  /** Each receiver's AMQP URL (through its own cuttable proxy). */
  readonly receiverAmqpUrl: (id: string) => string;
  /** Workers' and the uploader's AMQP URL. */
  readonly amqpUrl: string;
  readonly spoolDir: string;
  readonly sinkDir: string;
  readonly secondaryDir: string;
  readonly logDir: string;
  readonly receivers: readonly string[];
  readonly workers: number;
  /** Extra FANIN_* settings for every member. */
  readonly env?: Record<string, string>;
  /** Extra FANIN_* settings for one receiver, by id. */
  readonly receiverEnv?: Readonly<Record<string, Record<string, string>>>;
}

/** An exit of a member's process; `expected` false: nobody asked it to exit (a crash the suite did not cause). */
export type ExitRecord = MemberExit;

/** Counters worth summing over a member's lifetimes (each restart starts them from 0). */
const TRACKED = [
  'fanin_receiver_udp_drops_total',
  'fanin_receiver_spooled_batches_total',
  'fanin_receiver_spool_replayed_batches_total',
  'fanin_receiver_spool_full_total',
  'fanin_receiver_publish_failures_total',
  'fanin_receiver_events_received_total',
  'fanin_receiver_backpressure_pauses_total',
  'fanin_worker_redis_errors_total',
  'fanin_worker_republished_events_total',
  'fanin_worker_publish_failures_total',
  'fanin_worker_unique_events_published_total',
  'fanin_uploader_write_failures_total',
  'fanin_uploader_secondary_events_total',
  'fanin_uploader_dead_lettered_batches_total',
  'fanin_uploader_events_written_total',
] as const;

interface Incarnation {
  readonly name: string;
  readonly child: ChildProcess;
  readonly last: Map<string, number>;
}

/**
 * The suite's fleet: 3 receivers, 2 workers and an uploader, each a `fanin <role>` child process with FANIN_*
 * settings. The fleet is their supervisor: a member that exits (killed by a fault or crashed) is started again after
 * `restartDelayMs`, and every exit is recorded (an exit nobody asked for is a finding).
 */
export class Fleet {
  readonly receiverPorts: readonly ReceiverPorts[];
  readonly exits: ExitRecord[] = [];
  private readonly launcher: FleetLauncher;
  private readonly metricsPorts: ReadonlyMap<string, number>;
  private readonly incarnations: Incarnation[] = [];
  private scrapeTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly layout: FleetLayout,
    members: MemberSpec[],
    receiverPorts: ReceiverPorts[],
    restartDelayMs: number,
  ) {
    this.receiverPorts = receiverPorts;
    this.metricsPorts = new Map(members.map((m) => [m.name, m.metricsPort]));
    this.launcher = new FleetLauncher(members, {
      inheritSettings: false,
      // Each member's stdout and stderr, appended over its restarts.
      output: (spec) => ({ logFile: join(layout.logDir, `${spec.name}.log`) }),
      restartDelay: () => restartDelayMs,
      onStart: (child, spec) => this.incarnations.push({ name: spec.name, child, last: new Map() }),
      onExit: (exit) => this.exited(exit),
      onSpawnError: (err, spec) => note(`${spec.name}: spawn error ${err.message}`),
    });
  }

  get members(): readonly MemberSpec[] {
    return this.launcher.members.map((m) => ({ ...m.current, metricsPort: this.metricsPorts.get(m.name)! }));
  }

  /**
   * Changes settings of every member of a role from its next start on (a running process keeps what it started
   * with: `restartGracefully` applies them). Only settings fanin knows are passed, as at creation.
   */
  setEnv(role: Role, env: Record<string, string>): void {
    const known = new Set(Object.values(settings).map((x) => x.env));
    const unknown = Object.keys(env).filter((k) => !known.has(k));
    if (unknown.length > 0) throw new Error(`not fanin settings: ${unknown.join(', ')}`);
    for (const name of this.launcher.names(role)) this.launcher.member(name).setEnv(env);
  }

  /** SIGTERM (the member drains), then wait until the supervisor's restart, with the member's current settings, is ready. */
  async restartGracefully(name: string, timeoutMs = 60_000): Promise<void> {
    await this.signalAndAwaitRestart(name, 'SIGTERM', timeoutMs);
    await this.waitReady(name, timeoutMs);
  }

  static async create(layout: FleetLayout, restartDelayMs = 1000): Promise<Fleet> {
    mkdirSync(layout.logDir, { recursive: true });
    const known = new Set(Object.values(settings).map((s) => s.env));
    const ifKnown = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).filter(([k]) => known.has(k)));
    const perReceiver = 4;
    const ports = await freePorts(layout.receivers.length * perReceiver + layout.workers + 1);
    const take = () => ports.shift()!;
    const common = {
      FANIN_NAMESPACE: layout.namespace,
      FANIN_REDIS_URL: layout.redisUrl,
      FANIN_LOG_LEVEL: 'warn',
      FANIN_METRICS_HOST: '127.0.0.1',
      FANIN_DRAIN_TIMEOUT_MS: '8000',
      ...layout.env,
    };
    const members: MemberSpec[] = [];
    const receiverPorts: ReceiverPorts[] = [];
    for (const id of layout.receivers) {
      const p: ReceiverPorts = { id, syslog: take(), http: take(), forward: take(), metrics: take() };
      receiverPorts.push(p);
      members.push({
        name: `receiver-${id}`,
        role: 'receiver',
        metricsPort: p.metrics,
        env: ifKnown({
          ...common,
          FANIN_AMQP_URL: layout.receiverAmqpUrl(id),
          FANIN_RECEIVER_ID: id,
          FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
          FANIN_RECEIVER_SYSLOG_PORT: String(p.syslog),
          FANIN_RECEIVER_HTTP_PORT: String(p.http),
          FANIN_METRICS_PORT: String(p.metrics),
          FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
          FANIN_RECEIVER_FORWARD_PORT: String(p.forward),
          FANIN_RECEIVER_SPOOL_DIR: layout.spoolDir,
          ...layout.receiverEnv?.[id],
        }),
      });
    }
    for (let n = 1; n <= layout.workers; n++) {
      const metrics = take();
      members.push({
        name: `worker-${n}`,
        role: 'worker',
        metricsPort: metrics,
        env: ifKnown({
          ...common,
          FANIN_AMQP_URL: layout.amqpUrl,
          FANIN_WORKER_ID: `w${n}`,
          FANIN_METRICS_PORT: String(metrics),
        }),
      });
    }
    const metrics = take();
    members.push({
      name: 'uploader',
      role: 'uploader',
      metricsPort: metrics,
      env: ifKnown({
        ...common,
        FANIN_AMQP_URL: layout.amqpUrl,
        FANIN_UPLOADER_ID: 'u1',
        FANIN_METRICS_PORT: String(metrics),
        FANIN_UPLOADER_FILE_SINK_DIR: layout.sinkDir,
        FANIN_UPLOADER_SECONDARY_DIR: layout.secondaryDir,
      }),
    });
    return new Fleet(layout, members, receiverPorts, restartDelayMs);
  }

  spec(name: string): MemberSpec {
    return { ...this.launcher.member(name).current, metricsPort: this.metricsPort(name) };
  }

  names(role?: Role): string[] {
    return this.launcher.names(role);
  }

  pid(name: string): number | null {
    return this.launcher.member(name).pid;
  }

  async start(readyTimeoutMs = 60_000): Promise<void> {
    this.launcher.start();
    await Promise.all(this.members.map((m) => this.waitReady(m.name, readyTimeoutMs)));
    this.scrapeTimer = setInterval(() => {
      void this.scrapeAll();
    }, 2000);
  }

  /** GET /readyz (connected and consuming) of the member's current process. */
  async waitReady(name: string, timeoutMs = 60_000): Promise<void> {
    await until(`${name} ready`, async () => (await this.probe(name, 'readyz')) === null, timeoutMs, 200);
  }

  /** GET /healthz (alive, maybe not connected). */
  async waitAlive(name: string, timeoutMs = 60_000): Promise<void> {
    await until(`${name} alive`, async () => (await this.probe(name, 'healthz')) === null, timeoutMs, 200);
  }

  async waitAllReady(timeoutMs = 60_000): Promise<void> {
    await Promise.all(this.members.map((m) => this.waitReady(m.name, timeoutMs)));
  }

  /** Members whose /readyz does not answer 200 right now. */
  async notReady(): Promise<string[]> {
    const names = this.names();
    const answers = await Promise.all(names.map((name) => this.probe(name, 'readyz')));
    return names.filter((_, i) => answers[i] !== null);
  }

  /** Per member: log lines at warn, error and fatal level, and the most frequent error messages. */
  logStats(): Record<string, { warn: number; error: number; fatal: number; topErrors: [string, number][] }> {
    const out: ReturnType<Fleet['logStats']> = {};
    for (const m of this.members) {
      let text = '';
      try {
        text = readFileSync(join(this.layout.logDir, `${m.name}.log`), 'utf8');
      } catch {
        /* none */
      }
      const stats = { warn: 0, error: 0, fatal: 0, topErrors: [] as [string, number][] };
      const messages = new Map<string, number>();
      for (const line of text.split('\n')) {
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level === '40') stats.warn++;
        else if (level === '50' || level === '60') {
          if (level === '50') stats.error++;
          else stats.fatal++;
          const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 120);
          messages.set(msg, (messages.get(msg) ?? 0) + 1);
        }
      }
      stats.topErrors = [...messages].sort((a, b) => b[1] - a[1]).slice(0, 5);
      out[m.name] = stats;
    }
    return out;
  }

  /** Sends a signal to the member's current process; a killing signal is marked expected (the fault asked for it). */
  signal(name: string, signal: NodeJS.Signals): number {
    return this.launcher.member(name).signal(signal);
  }

  /** SIGKILL, then wait until the supervisor's restart is up again (alive, or ready when `ready`). */
  async killAndAwaitRestart(
    name: string,
    ready: boolean,
    timeoutMs = 60_000,
  ): Promise<{ killedAt: number; upAt: number }> {
    const killedAt = Date.now();
    await this.signalAndAwaitRestart(name, 'SIGKILL', timeoutMs);
    if (ready) await this.waitReady(name, timeoutMs);
    else await this.waitAlive(name, timeoutMs);
    return { killedAt, upAt: Date.now() };
  }

  /** Counters summed over every process a member ran as (last scrape of each). */
  totals(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const inc of this.incarnations) {
      const m = (out[inc.name] ??= {});
      for (const [k, v] of inc.last) m[k] = (m[k] ?? 0) + v;
    }
    return out;
  }

  async scrapeAll(): Promise<void> {
    const running = this.incarnations.filter((inc) => inc.child.exitCode === null && inc.child.signalCode === null);
    await Promise.all(
      running.map(async (inc) => {
        const port = this.metricsPort(inc.name);
        try {
          const text = await (
            await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) })
          ).text();
          for (const name of TRACKED) {
            const v = sumMetric(text, name);
            if (v !== null) inc.last.set(name, v);
          }
        } catch {
          /* down or stopped: keep the last scrape */
        }
      }),
    );
  }

  /** SIGTERM every member (drain), SIGKILL what is left after the bound. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.scrapeTimer) clearInterval(this.scrapeTimer);
    await this.scrapeAll();
    for (const name of await this.launcher.stop(graceMs)) note(`${name} did not drain within ${graceMs} ms: SIGKILL`);
  }

  private metricsPort(name: string): number {
    const port = this.metricsPorts.get(name);
    if (port === undefined) throw new Error(`no fleet member ${name}`);
    return port;
  }

  /** null when the member's /readyz or /healthz answers 2xx, else why not. */
  private probe(name: string, path: 'readyz' | 'healthz'): Promise<string | null> {
    return httpNotOk(`http://127.0.0.1:${this.metricsPort(name)}/${path}`, 1000);
  }

  /** Sends `signal` to the member's process, then waits for the supervisor to start a new one. */
  private async signalAndAwaitRestart(name: string, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const member = this.launcher.member(name);
    const old = member.process;
    if (old === null) throw new Error(`${name} is not running`);
    const gone = member.exit();
    member.signal(signal);
    await gone;
    await until(
      `${name} restarted`,
      () => {
        const c = member.process;
        return c !== null && c !== old;
      },
      timeoutMs,
      50,
    );
  }

  private exited(exit: MemberExit): void {
    this.exits.push(exit);
    if (!exit.expected) {
      note(
        `UNEXPECTED: ${exit.name} (pid ${exit.pid}) exited with ${exit.signal ?? `code ${exit.code}`}; see ${join(this.layout.logDir, `${exit.name}.log`)}`,
      );
    }
  }
}

function sumMetric(text: string, name: string): number | null {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : null;
}
