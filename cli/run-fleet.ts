import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../shared/config/settings.js';
import { localFleet, type FleetMember } from './local-fleet.js';
import { fleetTls } from './local-tls.js';
import { checkDependencies } from './preflight.js';

export interface FleetOptions {
  readonly portOffset: number;
  /** Restart a member that exits unexpectedly (a supervisor's job; the chaos tests rely on it). */
  readonly restart: boolean;
  /** Dedup workers to run (default 2). */
  readonly workers?: number;
}

const CLI = fileURLToPath(new URL('./fanin.js', import.meta.url));

/**
 * A member's Node flags: ours, plus 32 MiB semi-spaces unless a young-generation size is given (here or in
 * NODE_OPTIONS). fanin allocates short-lived objects per event; the larger young generation gave about 10 % more
 * events/s in the bench (README, Benchmarks). The image sets the same flag through NODE_OPTIONS.
 */
export function nodeFlags(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((f) => f.startsWith('--max-semi-space-size') || f.startsWith('--semi-space'));
  return given ? [...execArgv] : [...execArgv, '--max-semi-space-size=32'];
}

/**
 * `fanin up`: runs the local fleet as child processes (each its own process, as in production), prints every
 * endpoint, and on SIGINT/SIGTERM drains them all before exiting.
 */
export async function runFleet(config: Config, options: FleetOptions): Promise<number> {
  const problems = await checkDependencies(config.amqpUrl, config.redisUrl);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`fanin: ${p}\n`);
    return 1;
  }
  const { tls, note: tlsNote } = fleetTls(config);
  const members = localFleet(options.portOffset, '127.0.0.1', tls, options.workers ?? 2);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const start = (m: FleetMember) => {
    // Node's own flags go to every member (e.g. `node --cpu-prof fanin.js up` profiles the whole fleet).
    const child = spawn(process.execPath, [...nodeFlags(process.execArgv), CLI, m.role], {
      env: { ...process.env, FANIN_RECEIVER_LISTEN_HOST: process.env.FANIN_RECEIVER_LISTEN_HOST ?? '127.0.0.1', ...m.env },
      // Own process group, so a terminal's Ctrl-C reaches only us and each child gets exactly one SIGTERM from us;
      // the IPC channel tells a child that we died, so it drains instead of running orphaned.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    children.set(m.name, child);
    child.on('exit', (code, signal) => {
      if (children.get(m.name) === child) children.delete(m.name);
      if (stopping) return;
      process.stderr.write(`fanin: ${m.name} exited (${signal ?? `code ${code}`})${options.restart ? '; restarting in 1 s' : ''}\n`);
      if (options.restart) setTimeout(() => { if (!stopping) start(m); }, 1000);
    });
  };
  for (const m of members) start(m);

  const out = process.stdout;
  out.write(`fanin local fleet (namespace "${config.namespace}", RabbitMQ and Redis reachable)\n`);
  for (const m of members) out.write(`  ${m.name.padEnd(16)} ${m.endpoints.join('   ')}\n`);
  out.write(`  events go to   ${resolve(config.fileSinkDir)}/events.YYYY-MM-DD-HH.ndjson\n`);
  if (tlsNote !== null) out.write(`  ${tlsNote}\n`);
  out.write('  Ctrl-C drains and stops the fleet\n');

  return new Promise((done) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      out.write('fanin: draining the fleet…\n');
      const alive = [...children.values()];
      if (alive.length === 0) done(0);
      let left = alive.length;
      for (const c of alive) {
        c.once('exit', () => { if (--left === 0) { out.write('fanin: fleet stopped\n'); done(0); } });
        c.kill('SIGTERM');
      }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
