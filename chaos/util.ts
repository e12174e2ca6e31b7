import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Milliseconds since the suite started, for log lines and the timeline. */
const started = Date.now();
export function elapsed(at = Date.now()): string {
  return `${((at - started) / 1000).toFixed(1).padStart(6)}s`;
}

export function note(message: string): void {
  process.stdout.write(`[chaos ${elapsed()}] ${message}\n`);
}

/** True once a TCP connect to host:port succeeds. */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Polls `probe` until it answers true; `fatal` returning a reason gives up at once (the process died, say). */
export async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 200,
  fatal?: () => string | null,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = fatal?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs a command; resolves with its stdout, rejects with its stderr. Bounded. */
export function run(
  file: string,
  args: readonly string[],
  timeoutMs = 60_000,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, encoding: 'utf8', env: env ?? process.env, cwd: '/tmp' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message.trim()} ${stderr.trim()}`));
        else resolve(stdout);
      },
    );
  });
}

/** Pids of processes whose command line contains `needle` (a unique node name or path), excluding ourselves. */
export async function pidsWithCmdline(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (cmd.includes(needle)) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}
