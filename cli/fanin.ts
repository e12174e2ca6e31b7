#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config/config-error.js';
import { loadConfig } from '../shared/config/load-config.js';
import { settings } from '../shared/config/settings.js';
import { createLogger } from '../shared/logger.js';
import { onShutdownSignal } from '../shared/process-lifecycle.js';
import { runWorker } from '../dedup-worker/run-worker.js';
import { runReceiver } from '../receiver/run-receiver.js';
import { runUploader } from '../uploader/run-uploader.js';
import { MAX_LOCAL_WORKERS } from './local-fleet.js';
import { runFleet } from './run-fleet.js';
import { fanOutSend, type SendFraming } from './send.js';
import { runTop, TOP_USAGE } from './top.js';

const USAGE = `usage: fanin <command> [options]

commands:
  receiver             syslog (UDP, TCP) and HTTP inputs, publishing batches to RabbitMQ
  worker               dedup worker: RabbitMQ "new" queue -> Redis -> "processed" exchange
  uploader             drains each sink's queue into its sink (file: hourly NDJSON)
  up [--port-offset N] [--no-restart] [--workers N]
                       the local fleet: receivers a and b, two (or N) workers, one uploader
  send --to host:port[,host:port…] [--framing udp|tcp|octet] [--count N] [--rate N] [--message TEXT]
                       fan-out test sender: the same syslog lines to every target
  settings             list every setting with its environment variable and default
  ${TOP_USAGE}

Settings come from defaults, a JSON file (--config or FANIN_CONFIG), then FANIN_* environment variables.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'top' && !rest.includes('--help') && !rest.includes('-h')) return runTop(rest); // its own options
  const { values } = parseArgs({
    args: rest, allowPositionals: false, strict: true,
    options: {
      config: { type: 'string' }, 'port-offset': { type: 'string' }, 'no-restart': { type: 'boolean' },
      workers: { type: 'string' },
      to: { type: 'string' }, framing: { type: 'string' }, count: { type: 'string' }, rate: { type: 'string' },
      message: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (!command || values.help || command === 'help') { process.stdout.write(USAGE + '\n'); return command ? 0 : 2; }
  if (command === 'settings') {
    for (const s of Object.values(settings)) process.stdout.write(`${s.key.padEnd(32)} ${s.env.padEnd(40)} ${JSON.stringify(s.default)}\n    ${s.doc}\n`);
    return 0;
  }
  if (command === 'send') {
    const to = (values.to ?? '').split(',').filter(Boolean).map((t) => {
      const i = t.lastIndexOf(':');
      return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
    });
    if (to.length === 0 || to.some((t) => !t.host || !Number.isInteger(t.port))) throw new ConfigError(['--to: give host:port[,host:port…]']);
    const framing = (values.framing ?? 'octet') as SendFraming;
    if (!['udp', 'tcp', 'octet'].includes(framing)) throw new ConfigError(['--framing: udp, tcp or octet']);
    await fanOutSend({
      targets: to, framing, count: Number(values.count ?? 10), rate: Number(values.rate ?? 0),
      message: values.message ?? 'hello from fanin send', runId: randomBytes(4).toString('hex'),
    });
    return 0;
  }
  const config = loadConfig({ file: values.config });
  if (command === 'up') {
    const workers = Number(values.workers ?? 2);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_LOCAL_WORKERS) throw new ConfigError([`--workers: 1..${MAX_LOCAL_WORKERS}`]);
    return runFleet(config, { portOffset: Number(values['port-offset'] ?? 0), restart: !values['no-restart'], workers });
  }
  const roles = { receiver: runReceiver, worker: runWorker, uploader: runUploader } as const;
  if (!(command in roles)) { process.stderr.write(`fanin: unknown command "${command}"\n${USAGE}\n`); return 2; }
  const role = command as keyof typeof roles;
  const log = createLogger(`fanin-${role}`, 'main', config.logLevel);
  const running = await roles[role](config);
  onShutdownSignal(log, config.drainTimeoutMs, () => running.drain());
  // Run by `fanin up`: if the supervisor dies, drain rather than run orphaned.
  if (process.send) process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exit(code); },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`fanin: ${err.message}\n`);
    else process.stderr.write(`fanin: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 78 : 1); // EX_CONFIG: a supervisor must not restart into the same error
  },
);
