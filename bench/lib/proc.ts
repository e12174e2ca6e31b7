import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Linux /proc readers for the bench: RSS, CPU ticks and environment of a process. */

export interface TrackedProcess {
  readonly label: string;
  readonly pid: number;
}

let clockTicks: number | null = null;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux the bench runs on, asked anyway). */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The fields of /proc/<pid>/stat after the command name (field 3, "state", is index 0). */
function statFields(pid: number): string[] | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) return null;
  const close = text.lastIndexOf(')');
  return close === -1 ? null : text.slice(close + 2).split(' ');
}

/** Resident set size in KiB (VmRSS), or null when the process is gone. */
export function readRssKb(pid: number): number | null {
  const text = readText(`/proc/${pid}/status`);
  const m = text === null ? null : /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** utime + stime in clock ticks, or null when the process is gone. */
export function readCpuTicks(pid: number): number | null {
  const f = statFields(pid);
  if (!f) return null;
  return Number(f[11]) + Number(f[12]);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Like `pgrep -x name` (read only: the bench never signals these). */
export function pidsByComm(name: string): number[] {
  return allPids().filter((pid) => readText(`/proc/${pid}/comm`)?.trim() === name);
}

/**
 * The process listening on TCP `port` (any local address), found through the socket's inode in /proc/net/tcp{,6}
 * and the processes' file descriptors; null when none here does (a remote server, or not visible to this user).
 * The bench counts the CPU of the RabbitMQ and Redis it uses by this, not by process name: other servers of the same
 * name on the machine (a test's cluster, a private Redis) would otherwise be counted too, and one that exits during
 * a phase would make its CPU come out negative.
 */
export function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (readText(table) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) return pid;
    }
  }
  return null;
}

/** The server behind `url` on this machine, by its listening port; every process named `comm` when none is found. */
export function serverPids(url: string, defaultPort: number, comm: string): number[] {
  const port = Number(new URL(url.split(',')[0]!).port || defaultPort);
  const pid = pidListeningOn(port);
  return pid === null ? pidsByComm(comm) : [pid];
}

export function readEnviron(pid: number): Record<string, string> {
  const text = readText(`/proc/${pid}/environ`);
  const env: Record<string, string> = {};
  if (text === null) return env;
  for (const entry of text.split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/**
 * Samples the RSS of a set of processes on a timer and keeps the maximum per label; CPU is read on demand
 * (two snapshots around a phase give its CPU share per process).
 */
export class ProcSampler {
  private readonly procs: TrackedProcess[] = [];
  private readonly maxRss = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  track(procs: readonly TrackedProcess[]): void {
    this.procs.push(...procs);
    this.sample();
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample(): void {
    for (const p of this.procs) {
      const kb = readRssKb(p.pid);
      if (kb !== null && kb > (this.maxRss.get(p.label) ?? 0)) this.maxRss.set(p.label, kb);
    }
  }

  /** Max RSS per label, in MiB (rounded to 0.1). */
  maxRssMiB(): Record<string, number> {
    return Object.fromEntries([...this.maxRss].map(([label, kb]) => [label, Math.round(kb / 102.4) / 10]));
  }

  cpuSnapshot(): Map<string, number> {
    const snap = new Map<string, number>();
    for (const p of this.procs) {
      const t = readCpuTicks(p.pid);
      if (t !== null) snap.set(p.label, (snap.get(p.label) ?? 0) + t);
    }
    return snap;
  }
}

/** CPU share of each process between two snapshots, in % of one core. */
export function cpuPercent(
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  const hz = clockTicksPerSecond();
  for (const [label, t1] of after) {
    const t0 = before.get(label);
    if (t0 !== undefined && seconds > 0) out[label] = Math.round(((t1 - t0) / hz / seconds) * 1000) / 10;
  }
  return out;
}

/** The machine's CPU time from the first line of /proc/stat, in clock ticks: all of it, and the busy part. */
export function readMachineCpuTicks(): { total: number; busy: number } {
  const fields = (readText('/proc/stat') ?? '').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  // user nice system idle iowait irq softirq steal guest guest_nice: idle and iowait are not busy; guest time is
  // already counted in user.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const guest = (fields[8] ?? 0) + (fields[9] ?? 0);
  return { total: total - guest, busy: total - guest - idle };
}
