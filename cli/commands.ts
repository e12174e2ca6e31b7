import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the usage text, for string options. */
  readonly value?: string;
  readonly doc: string;
}

export interface CommandSpec {
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Said after the options in `fanin <command> --help`. */
  readonly notes?: string;
}

const config: OptionSpec = {
  type: 'string',
  value: 'FILE',
  doc: 'JSON configuration file (default: FANIN_CONFIG); FANIN_* variables override it',
};

/** Every command with only its own options: `fanin <command> --help` prints them, and parsing refuses any other. */
export const COMMANDS = {
  receiver: {
    summary: 'syslog (UDP, TCP, TLS), Forward and HTTP inputs, publishing batches to RabbitMQ',
    options: { config },
    notes: 'SIGTERM/SIGINT drain and exit; SIGHUP or SIGUSR1 publish the open batch now.',
  },
  worker: {
    summary: 'dedup worker: RabbitMQ "new" queue -> Redis -> "processed" exchange',
    options: { config },
    notes:
      'SIGTERM/SIGINT drain and exit; SIGHUP and SIGUSR1 are logged and change nothing (the worker keeps no files).',
  },
  uploader: {
    summary: "drains each sink's queue into its sink (file: hourly NDJSON)",
    options: { config },
    notes:
      "SIGTERM/SIGINT drain and exit; SIGHUP or SIGUSR1 close the sinks' files, reopened at the next write (logrotate).",
  },
  up: {
    summary: 'the local fleet on 127.0.0.1: receivers a and b, two (or N) dedup workers, one uploader',
    options: {
      config,
      'port-offset': { type: 'string', value: 'N', doc: 'add N to every port of the fleet (default 0)' },
      'no-restart': { type: 'boolean', doc: 'leave a member that exits stopped (default: restart it after 1 s)' },
      workers: { type: 'string', value: 'N', doc: 'dedup workers, 1 to 9 (default 2)' },
    },
    notes:
      'Prints the endpoints once every input accepts connections. Ctrl-C (SIGINT), SIGTERM or SIGHUP (terminal closed) drains every member.',
  },
  send: {
    summary: 'fan-out test sender: the same syslog lines to every target',
    options: {
      to: { type: 'string', value: 'HOST:PORT[,…]', doc: 'targets (required); IPv6 as [addr]:port' },
      framing: {
        type: 'string',
        value: 'udp|tcp|octet',
        doc: 'UDP datagrams, LF-terminated TCP, or RFC 6587 octet counting (default octet)',
      },
      count: { type: 'string', value: 'N', doc: 'lines to send to each target (default 10)' },
      rate: { type: 'string', value: 'N', doc: 'lines per second, 0 for as fast as possible (default 0)' },
      message: { type: 'string', value: 'TEXT', doc: 'message text (default "hello from fanin send")' },
    },
  },
  top: {
    summary: "live rates of the fleet (ingest, unique, duplicates, coverage, queue depth) from the processes' /metrics",
    options: {
      config,
      targets: { type: 'string', value: 'HOST:PORT|URL,…', doc: "metrics endpoints (default: the local fleet's)" },
      'port-offset': { type: 'string', value: 'N', doc: "the local fleet's --port-offset (default 0)" },
      rabbitmq: { type: 'string', value: 'URL|none', doc: "RabbitMQ's Prometheus endpoint for queue depths" },
      interval: { type: 'string', value: 'MS', doc: 'milliseconds between frames, 100 to 60000 (default 1000)' },
      once: { type: 'boolean', doc: 'print one frame (rates over one interval) and exit' },
      json: { type: 'boolean', doc: 'with --once: the frame as JSON' },
    },
    notes: 'q or Ctrl-C quits. With --once, exits 1 when no target answered.',
  },
  replay: {
    summary: "put batches set aside (<ns>.dead, the secondary files) back into their sink's queue, same event ids",
    options: {
      config,
      'dry-run': { type: 'boolean', doc: 'count what would be replayed, per sink and reason; move nothing' },
      sink: {
        type: 'string',
        value: 'NAME[,…]',
        doc: "only these sinks' batches (default: every sink of the configuration)",
      },
      reason: {
        type: 'string',
        value: 'REASON[,…]',
        doc: 'only these reasons: refused, undecodable, delivery_limit, rejected, expired, maxlen, other, secondary',
      },
      new: { type: 'boolean', doc: 'also put batches a dedup worker dead-lettered back into their <ns>.new queue' },
      prefetch: {
        type: 'string',
        value: 'N',
        doc: 'batches awaiting their publish confirm at once, 1 to 1000 (default 32)',
      },
      'batch-events': {
        type: 'string',
        value: 'N',
        doc: 'events per batch replayed from secondary files, 1 to 10000 (default 500)',
      },
    },
    notes:
      "One pass over <ns>.dead (as many messages as it held at the start); batches not selected stay there. A batch is acked, a file's lines marked (<file>.replayed) only after the broker confirmed them: a crash replays again, never loses. Progress on stderr every second, the summary on stdout. docs/replay.md explains it.",
  },
  validate: {
    summary: 'check a whole configuration (settings, sink definitions, TLS files) without starting anything',
    options: { config },
    notes: 'No network I/O. Exit 0 with a one-line summary when valid; 78 with every problem listed when not.',
  },
  settings: {
    summary: 'list every setting with its environment variable and default',
    options: {},
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

const HELP: OptionSpec = { type: 'boolean', doc: 'this help' };

export function commandSynopsis(name: CommandName): string {
  const options = Object.entries(COMMANDS[name].options as Record<string, OptionSpec>).map(([flag, o]) =>
    o.value ? `[--${flag} ${o.value}]` : `[--${flag}]`,
  );
  return ['usage: fanin', name, ...options].join(' ');
}

export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const rows: [string, string][] = Object.entries(spec.options).map(([flag, o]) => [
    `--${flag}${o.value ? ` ${o.value}` : ''}`,
    o.doc,
  ]);
  rows.push(['-h, --help', HELP.doc]);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    commandSynopsis(name),
    '',
    spec.summary,
    '',
    'options:',
    ...rows.map(([f, doc]) => `  ${f.padEnd(width)}${doc}`),
    ...(spec.notes ? ['', spec.notes] : []),
  ].join('\n');
}

export function overallUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 3;
  return [
    'usage: fanin <command> [options]',
    '       fanin <command> --help | fanin --help | fanin --version',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}${spec.summary}`),
    '',
    'Settings come from defaults, a JSON file (--config or FANIN_CONFIG), then FANIN_* environment variables;',
    '`fanin settings` lists them. Exit status: 0 ok, 1 failure, 2 wrong command line, 78 invalid configuration.',
  ].join('\n');
}

export type ParsedOptions = Record<string, string | boolean | undefined>;

/** The command's own options (and --help); anything else is a UsageError that names it. */
export function parseCommandArgs(name: CommandName, args: readonly string[]): ParsedOptions {
  const spec: CommandSpec = COMMANDS[name];
  const options = Object.fromEntries(Object.entries(spec.options).map(([flag, o]) => [flag, { type: o.type }]));
  try {
    const { values } = parseArgs({
      args: [...args],
      allowPositionals: false,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
    return values;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS')) throw err;
    throw new UsageError(parseArgsMessage(e), name);
  }
}

/** parseArgs' first sentence ("Unknown option '--bogus'"), without its advice about positionals, which fanin has none of. */
function parseArgsMessage(err: Error & { code?: string }): string {
  const first = err.message.split(/\.\s/)[0]!.replace(/\.$/, '');
  const said = first.charAt(0).toLowerCase() + first.slice(1);
  // "--count -1": parseArgs cannot tell a negative number from an option.
  if (/ambiguous/.test(first)) return `${said}: its value is missing or starts with "-" (write --option=VALUE)`;
  return said;
}
