import { resolve } from 'node:path';
import type { Config } from '../shared/config/settings.js';
import { EXIT_CONFIG, EXIT_FAILURE } from './exit-codes.js';
import { FleetLauncher } from './fleet/fleet-launcher.js';
import { localFleet } from './fleet/local-layout.js';
import { nodeFlags } from './fleet/member-command.js';
import { waitForFleet } from './fleet/readiness.js';
import { fleetTls } from './local-tls.js';
import { describeTakenPorts, takenPorts } from './port-preflight.js';
import { checkDependencies } from './preflight.js';

export interface FleetOptions {
  readonly portOffset: number;
  /** Restart a member that exits unexpectedly (a supervisor's job; the chaos tests rely on it). */
  readonly restart: boolean;
  /** Dedup workers to run (default 2). */
  readonly workers?: number;
  /** The --config file, handed to every member. */
  readonly configFile?: string;
}

/** Longest wait for every member to be ready before the endpoints are printed anyway, with what is missing. */
const READY_TIMEOUT_MS = 60_000;

/**
 * Whether a member that exited is started again. A configuration error or a port it cannot bind (exit 78) would
 * fail the same way every second, so it is not.
 */
export function restartsAfter(code: number | null, restart: boolean): boolean {
  return restart && code !== EXIT_CONFIG;
}

/**
 * `fanin up`: runs the local fleet as child processes (each its own process, as in production), prints every
 * endpoint once all of them accept connections, and on SIGINT/SIGTERM/SIGHUP drains them all before exiting.
 */
export async function runFleet(config: Config, options: FleetOptions): Promise<number> {
  const problems = await checkDependencies(config.amqpUrl, config.redisUrl);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`fanin: ${p}\n`);
    return EXIT_FAILURE;
  }
  const { tls, note: tlsNote } = fleetTls(config);
  // The operator may open the fleet to the network (FANIN_RECEIVER_LISTEN_HOST, FANIN_METRICS_HOST); else loopback.
  const inputHost = process.env.FANIN_RECEIVER_LISTEN_HOST || '127.0.0.1';
  const metricsHost = process.env.FANIN_METRICS_HOST || '127.0.0.1';
  const members = localFleet(options.portOffset, '127.0.0.1', tls, options.workers ?? 2);
  const taken = await takenPorts(members, (p) => (p.input ? inputHost : metricsHost));
  if (taken.length > 0) {
    process.stderr.write(
      `fanin: cannot start the local fleet: ports in use: ${describeTakenPorts(taken)}\n` +
        '  Is another `fanin up` (or the compose stack) running? Stop it, or move this fleet with --port-offset N.\n',
    );
    return EXIT_FAILURE;
  }

  let failedCode = 0;
  let stopping = false;
  const failed = new AbortController();
  const fleet = new FleetLauncher(
    members.map((m) => ({
      ...m,
      env: {
        ...m.env,
        FANIN_RECEIVER_LISTEN_HOST: inputHost,
        FANIN_METRICS_HOST: metricsHost,
        ...(options.configFile ? { FANIN_CONFIG: resolve(options.configFile) } : {}),
      },
    })),
    {
      // Node's own flags go to every member (e.g. `node --cpu-prof fanin.js up` profiles the whole fleet).
      nodeArgs: nodeFlags(process.execArgv),
      restartDelay: (exit) => (restartsAfter(exit.code, options.restart) ? 1000 : null),
      onExit: (exit, again) => {
        if (stopping) return;
        const why =
          exit.code === EXIT_CONFIG
            ? '; a configuration error or a port it cannot bind: not restarting it, stopping the fleet'
            : '';
        process.stderr.write(
          `fanin: ${exit.name} exited (${exit.signal ?? `code ${exit.code}`})${again ? '; restarting in 1 s' : why}\n`,
        );
        if (exit.code === EXIT_CONFIG) {
          failedCode = EXIT_CONFIG;
          failed.abort();
          stop();
        }
      },
    },
  );

  const out = process.stdout;
  let done: (code: number) => void = () => undefined;
  const finished = new Promise<number>((r) => {
    done = r;
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    failed.abort();
    out.write('fanin: draining the fleet…\n');
    const anyRunning = fleet.members.some((m) => m.running());
    void fleet.stop().then(() => {
      if (anyRunning) out.write('fanin: fleet stopped\n');
      done(failedCode);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The terminal that ran `npm start` closed: drain like Ctrl-C rather than die and leave the members to notice.
  process.on('SIGHUP', stop);

  fleet.start();
  const notReady = await waitForFleet(members, inputHost, metricsHost, READY_TIMEOUT_MS, failed.signal);
  if (!stopping) {
    out.write(`fanin local fleet (namespace "${config.namespace}", RabbitMQ and Redis reachable)\n`);
    for (const m of members) out.write(`  ${m.name.padEnd(16)} ${m.endpoints.join('   ')}\n`);
    out.write(`  events go to   ${resolve(config.fileSinkDir)}/events.YYYY-MM-DD-HH.ndjson\n`);
    if (tlsNote !== null) out.write(`  ${tlsNote}\n`);
    if (notReady.length > 0) out.write(`  not ready after ${READY_TIMEOUT_MS / 1000} s: ${notReady.join('; ')}\n`);
    out.write('  Ctrl-C drains and stops the fleet\n');
  }
  return finished;
}
