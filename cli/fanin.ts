#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../shared/config/config-error.js';
import {
  commandSynopsis,
  commandUsage,
  isCommand,
  overallUsage,
  parseCommandArgs,
  type CommandName,
  type ParsedOptions,
} from './commands.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { MAX_LOCAL_WORKERS, maxPortOffset } from './fleet/local-layout.js';
import { choiceOption, decimalOption, hostPortList, integerOption } from './option-values.js';
import type { SendFraming } from './send.js';
import { UsageError } from './usage-error.js';
import { faninVersion } from './version.js';

const out = (text: string) => process.stdout.write(text + '\n');

// Each command imports what it runs when it runs: --help, --version and a wrong option answer without loading the
// AMQP, Redis and PostgreSQL clients.
const loadConfig = async (file: string | undefined) =>
  (await import('../shared/config/load-config.js')).loadConfig({ file });

/** Resolves with the exit status, or -1 while a role keeps running. */
async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(overallUsage() + '\n');
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"`);
    out(topic === undefined ? overallUsage() : commandUsage(topic));
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    out(faninVersion());
    return EXIT_OK;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option "${first}" (options go after the command)`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`);
  const values = parseCommandArgs(first, rest);
  if (values.help) {
    out(commandUsage(first));
    return EXIT_OK;
  }
  return runCommand(first, values, rest);
}

async function runCommand(command: CommandName, values: ParsedOptions, args: readonly string[]): Promise<number> {
  const str = (flag: string) => values[flag] as string | undefined;
  switch (command) {
    case 'settings': {
      const { settings } = await import('../shared/config/settings.js');
      for (const s of Object.values(settings))
        out(`${s.key.padEnd(32)} ${s.env.padEnd(40)} ${JSON.stringify(s.default)}\n    ${s.doc}`);
      return EXIT_OK;
    }
    case 'send': {
      const targets = hostPortList('to', str('to'), command);
      const framing = choiceOption<SendFraming>('framing', str('framing'), 'octet', ['udp', 'tcp', 'octet'], command);
      const count = integerOption('count', str('count'), 10, 1, 1_000_000_000, command);
      const rate = decimalOption('rate', str('rate'), 0, 1_000_000, command);
      const { fanOutSend } = await import('./send.js');
      await fanOutSend({
        targets,
        framing,
        count,
        rate,
        message: str('message') ?? 'hello from fanin send',
        runId: randomBytes(4).toString('hex'),
      });
      return EXIT_OK;
    }
    case 'top':
      return (await import('./top.js')).runTop(args);
    case 'validate': {
      const config = await loadConfig(str('config'));
      const { problems, notes, summary } = (await import('./validate-config.js')).validateConfiguration(config);
      if (problems.length > 0) throw new ConfigError(problems);
      for (const note of notes) out(`note: ${note}`);
      out(`configuration valid (${configSource(str('config'))}): ${summary}`);
      return EXIT_OK;
    }
    case 'replay': {
      // Options first: a wrong command line is reported before the configuration is read or the broker dialled.
      const window = integerOption('prefetch', str('prefetch'), 32, 1, 1000, command);
      const batchEvents = integerOption('batch-events', str('batch-events'), 500, 1, 10_000, command);
      const { reasonFilter, sinkFilter } = await import('./replay/replay-options.js');
      const reasons = reasonFilter(str('reason'));
      const config = await loadConfig(str('config'));
      const selection = { sinks: sinkFilter(str('sink'), config.sinks), reasons, includeNew: values.new === true };
      const { runReplay } = await import('./replay/run-replay.js');
      const outcome = await runReplay(config, {
        selection,
        dryRun: values['dry-run'] === true,
        window,
        batchEvents,
        progressMs: 1000,
        out,
        err: (text) => process.stderr.write(text + '\n'),
      });
      return outcome === 'done' ? EXIT_OK : EXIT_FAILURE;
    }
    case 'up': {
      // Options first: a wrong command line is reported before anything is checked or started.
      const portOffset = integerOption('port-offset', str('port-offset'), 0, 0, maxPortOffset(), command);
      const workers = integerOption('workers', str('workers'), 2, 1, MAX_LOCAL_WORKERS, command);
      const config = await loadConfig(str('config'));
      const { runFleet } = await import('./run-fleet.js');
      return runFleet(config, { portOffset, restart: !values['no-restart'], workers, configFile: str('config') });
    }
    case 'receiver':
    case 'worker':
    case 'uploader':
      return runRole(command, str('config'));
  }
}

async function runRole(role: 'receiver' | 'worker' | 'uploader', configFile: string | undefined): Promise<number> {
  const config = await loadConfig(configFile);
  const { createLogger } = await import('../shared/logger.js');
  const { onShutdownSignal } = await import('../shared/process-lifecycle.js');
  const log = createLogger(`fanin-${role}`, 'main', config.logLevel);
  const roles = {
    receiver: async () => (await import('../receiver/run-receiver.js')).runReceiver(config),
    worker: async () => (await import('../dedup-worker/run-worker.js')).runWorker(config),
    uploader: async () => (await import('../uploader/run-uploader.js')).runUploader(config),
  } as const;
  // The handler goes in before the role starts: until a process installs one, SIGTERM's default action kills it, so
  // a stop that arrives while the role is starting (or just after it logged that it listens) would skip the drain.
  const starting = roles[role]();
  onShutdownSignal(log, config.drainTimeoutMs, async () => (await starting).drain());
  await starting;
  // Run by `fanin up`: if the supervisor dies, drain rather than run orphaned.
  if (process.send) process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return -1; // keep running
}

function configSource(file: string | undefined): string {
  if (file) return `--config ${file}`;
  if (process.env.FANIN_CONFIG) return `FANIN_CONFIG ${process.env.FANIN_CONFIG}`;
  return 'defaults and FANIN_* variables';
}

/** A port this process was configured to bind but cannot: the same every time, so a configuration error (78). */
function listenFailure(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (
    (e.syscall !== 'listen' && e.syscall !== 'bind') ||
    !['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(e.code ?? '')
  )
    return null;
  const what = {
    EADDRINUSE: 'the address is already in use by another process',
    EACCES: 'permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)',
    EADDRNOTAVAIL: 'no such local address',
  }[e.code as 'EADDRINUSE'];
  return `cannot listen on ${e.address ?? '?'}:${e.port ?? '?'}: ${what} (${e.code})`;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const usage =
        err.command !== null && isCommand(err.command)
          ? commandSynopsis(err.command)
          : 'usage: fanin <command> [options]';
      const help = err.command !== null ? `fanin ${err.command} --help` : 'fanin --help';
      process.stderr.write(`fanin: ${err.message}\n${usage}\n(${help} explains every option)\n`);
      process.exit(EXIT_USAGE);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`fanin: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    const listen = listenFailure(err);
    if (listen !== null) {
      process.stderr.write(`fanin: ${listen}\n`);
      process.exit(EXIT_CONFIG);
    }
    // A system call that failed (send's "connect ECONNREFUSED 127.0.0.1:514") says all in its message; a bug needs its stack.
    const systemError = typeof (err as NodeJS.ErrnoException).syscall === 'string';
    process.stderr.write(
      `fanin: ${err instanceof Error ? (systemError ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
    );
    process.exit(EXIT_FAILURE);
  },
);
