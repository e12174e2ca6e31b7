import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeFleetOffset as findFleetOffset } from '../../cli/fleet/free-offset.js';
import { localFleet } from '../../cli/fleet/local-layout.js';
import { httpNotOk } from '../../cli/fleet/readiness.js';
import { cleanupNamespace, uniqueNamespace, waitFor } from '../../testkit/services.js';

const CLI = fileURLToPath(new URL('../../cli/fanin.js', import.meta.url));

export interface OutputLine {
  id: string;
  tag: string;
  time: string | null;
  received_at: string;
  receiver: string;
  source: string | null;
  transport: string;
  format: string;
  message: string | null;
  parse_error?: string;
  record?: Record<string, unknown>;
  [k: string]: unknown;
}

/** `fanin up` as a user runs it (the real CLI, real child processes), on shifted ports and its own namespace. */
export class LocalFleetProcess {
  readonly namespace = uniqueNamespace('fleet');
  /** Chosen in start() among free ones. */
  portOffset = 0;
  private readonly spoolDir = mkdtempSync(join(tmpdir(), 'fanin-spool-'));
  readonly outDir = mkdtempSync(join(tmpdir(), 'fanin-out-'));
  private child: ChildProcess | null = null;
  stdout = '';

  port(base: number): number {
    return base + this.portOffset;
  }

  /** `offset`: the port offset to use (from freeFleetOffsets, for fleets that must know each other's ports first). */
  async start(extraEnv: Record<string, string> = {}, offset?: number): Promise<void> {
    this.portOffset = offset ?? (await freeFleetOffset());
    const child = spawn(process.execPath, [CLI, 'up', '--port-offset', String(this.portOffset)], {
      env: {
        ...process.env,
        ...extraEnv,
        FANIN_NAMESPACE: this.namespace,
        FANIN_UPLOADER_FILE_SINK_DIR: this.outDir,
        FANIN_LOG_LEVEL: 'warn',
        FANIN_RECEIVER_SPOOL_DIR: this.spoolDir,
        FANIN_UPLOADER_SECONDARY_DIR: join(this.outDir, 'secondary'),
        FANIN_DRAIN_TIMEOUT_MS: '8000',
        FANIN_METRICS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    for (const m of fleetPorts(this.portOffset)) {
      const metrics = m.ports.find((p) => p.what === 'metrics')!;
      await waitFor(
        `readyz of ${m.name} on ${metrics.port}`,
        async () => ((await httpNotOk(`http://127.0.0.1:${metrics.port}/readyz`)) === null ? true : undefined),
        20_000,
      );
    }
    // `fanin up` prints its banner only once every input accepts connections, a little after the last /readyz.
    await waitFor(
      'the banner of fanin up',
      () => (this.stdout.includes('Ctrl-C drains and stops the fleet') ? true : undefined),
      20_000,
    );
  }

  /** Pids of the fleet's children running `role` (receiver, worker, uploader). */
  childPids(role: string): number[] {
    if (!this.child?.pid) return [];
    let out: string;
    try {
      out = execFileSync('pgrep', ['-P', String(this.child.pid)], { encoding: 'utf8' });
    } catch {
      return [];
    }
    return out
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(role);
        } catch {
          return false;
        }
      });
  }

  readOutput(): OutputLine[] {
    const lines: OutputLine[] = [];
    for (const f of readdirSync(this.outDir)
      .filter((n) => n.startsWith('events.'))
      .sort()) {
      for (const line of readFileSync(join(this.outDir, f), 'utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as OutputLine);
    }
    return lines;
  }

  async metrics(base: number): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port(base)}/metrics`)).text();
  }

  /** SIGTERM, as Ctrl-C would; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await cleanupNamespace(this.namespace);
    rmSync(this.outDir, { recursive: true, force: true });
    rmSync(this.spoolDir, { recursive: true, force: true });
  }
}

export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * The fleet `fanin up` starts at `offset`, as far as its ports go (both receivers' syslog TLS ports included: whether
 * it serves TLS is decided at start).
 */
function fleetPorts(offset: number) {
  return localFleet(offset, '127.0.0.1', 'configured');
}

/** `count` port offsets whose fleets' ports are all free now and do not overlap each other. */
export async function freeFleetOffsets(count: number): Promise<number[]> {
  const offsets: number[] = [];
  const ports = (o: number) => fleetPorts(o).flatMap((m) => m.ports.map((p) => p.port));
  for (let attempt = 0; offsets.length < count && attempt < 40; attempt++) {
    const offset = await freeFleetOffset();
    const taken = new Set(offsets.flatMap(ports));
    if (!ports(offset).some((p) => taken.has(p))) offsets.push(offset);
  }
  if (offsets.length < count) throw new Error(`no ${count} disjoint port offsets for local fleets`);
  return offsets;
}

/**
 * A port offset at which every port of the local fleet is free on 127.0.0.1, TCP and UDP. Every base port (5514 …
 * 24225) shifted stays below the kernel's ephemeral range (32768+), where outgoing connections would take our ports,
 * and above the privileged range.
 */
function freeFleetOffset(): Promise<number> {
  return findFleetOffset(fleetPorts, { min: 1000, max: 8400 });
}
