import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { memberArgs, memberEnv, type MemberSpec } from './member-command.js';

/** Where a member's stdout and stderr go: ours, nowhere, or appended to a file. */
export type MemberOutput = 'inherit' | 'ignore' | { readonly logFile: string };

export interface MemberExit {
  readonly name: string;
  readonly pid: number | undefined;
  readonly at: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** False: nobody asked this process to exit (a crash, or a kill from outside the launcher). */
  readonly expected: boolean;
}

export interface MemberOptions {
  /** Node flags before the CLI. */
  readonly nodeArgs?: readonly string[];
  /** The environment the member's settings are laid over (default: ours). */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** False: FANIN_* variables of baseEnv are not inherited (default true). */
  readonly inheritSettings?: boolean;
  /** Default 'inherit'; a function gives each member its own (a log file per member, say). */
  readonly output?: MemberOutput | ((spec: MemberSpec) => MemberOutput);
  /** Milliseconds until a member that exited is started again, or null to leave it down. Never asked while stopping. */
  readonly restartDelay?: (exit: MemberExit) => number | null;
  /** Every start, with its process (a restart is a new one). */
  readonly onStart?: (child: ChildProcess, spec: MemberSpec) => void;
  /** Every exit, and whether a restart is scheduled. */
  readonly onExit?: (exit: MemberExit, restarting: boolean) => void;
  readonly onSpawnError?: (error: Error, spec: MemberSpec) => void;
}

/** A signal that ends the process: one the launcher sends means the exit that follows is expected. */
const ENDING = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL', 'SIGINT']);

/**
 * One fleet member as a supervised child process: started, signalled, restarted after an exit when the policy says
 * so, and stopped by a drain (SIGTERM) that turns into SIGKILL after a bound.
 */
export class MemberProcess {
  private spec: MemberSpec;
  private child: ChildProcess | null = null;
  private expectingExit = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    spec: MemberSpec,
    private readonly options: MemberOptions = {},
  ) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }
  get current(): MemberSpec {
    return this.spec;
  }
  /** The running process, or null between an exit and its restart. */
  get process(): ChildProcess | null {
    return this.child;
  }
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Settings for the next start; the running process keeps those it started with. */
  setEnv(env: Record<string, string>): void {
    this.spec = { ...this.spec, env: { ...this.spec.env, ...env } };
  }

  start(): ChildProcess {
    this.stopping = false;
    const o = this.options;
    const output = typeof o.output === 'function' ? o.output(this.spec) : (o.output ?? 'inherit');
    const out = typeof output === 'object' ? openSync(output.logFile, 'a') : output;
    const child: ChildProcess = spawn(process.execPath, memberArgs(this.spec.role, o.nodeArgs), {
      env: memberEnv(this.spec, o.baseEnv, o.inheritSettings ?? true),
      // Own process group, so a terminal's Ctrl-C reaches only the launcher and each member gets exactly one SIGTERM
      // from it; the IPC channel tells a member that the launcher died, so it drains instead of running orphaned.
      stdio: ['ignore', out, out, 'ipc'],
      detached: true,
    });
    if (typeof out === 'number') closeSync(out);
    this.child = child;
    child.on('error', (err) => o.onSpawnError?.(err, this.spec));
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    o.onStart?.(child, this.spec);
    return child;
  }

  /** Sends `signal` to the running process; an ending signal marks its exit as expected. Returns the pid. */
  signal(signal: NodeJS.Signals): number {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running()) throw new Error(`${this.name} is not running`);
    if (ENDING.has(signal)) this.expectingExit = true;
    process.kill(pid, signal);
    return pid;
  }

  running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the running process has exited (at once when none runs). */
  exit(): Promise<void> {
    const child = this.child;
    if (child === null || !this.running()) return Promise.resolve();
    return new Promise((r) => child.once('exit', () => r()));
  }

  /**
   * Drain: no more restarts, SIGCONT (a stopped process cannot drain) and SIGTERM, then SIGKILL once `graceMs`
   * passes. Resolves true when the member exited by itself.
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === null || !this.running()) return true;
    const gone = this.exit();
    try {
      process.kill(child.pid!, 'SIGCONT');
    } catch {
      /* gone */
    }
    child.kill('SIGTERM');
    if (graceMs === Number.POSITIVE_INFINITY) {
      await gone;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      gone.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      child.kill('SIGKILL');
      await gone;
    }
    return drained;
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = null;
    const exit: MemberExit = {
      name: this.name,
      pid: child.pid,
      at: Date.now(),
      code,
      signal,
      expected: this.expectingExit || this.stopping,
    };
    this.expectingExit = false;
    const delay = this.stopping ? null : (this.options.restartDelay?.(exit) ?? null);
    this.options.onExit?.(exit, delay !== null);
    if (delay === null) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.start();
    }, delay);
  }
}
