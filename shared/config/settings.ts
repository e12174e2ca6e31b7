import { z } from 'zod';

/**
 * Every setting of every process, as data: its config-file key, its environment variable, its schema and default.
 * One table means the README, the validator and the error messages cannot drift apart (fastify validates its
 * options once at start the same way), and compose can set anything through the environment.
 */
export interface SettingSpec<T> {
  readonly key: string;
  readonly env: string;
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly doc: string;
}

function setting<T>(key: string, schema: z.ZodType<T>, defaultValue: T, doc: string): SettingSpec<T> {
  const env = 'FANIN_' + key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return { key, env, schema, default: defaultValue, doc };
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const receiverId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32');

export const settings = {
  namespace: setting('namespace', z.string().regex(/^[a-z0-9_.-]{1,40}$/), 'fanin',
    'Prefix of every exchange, queue and Redis key: lets several fleets (or tests) share one broker and one Redis.'),
  amqpUrl: setting('amqpUrl', z.string().url(), 'amqp://guest:guest@127.0.0.1:5672', 'RabbitMQ URL.'),
  redisUrl: setting('redisUrl', z.string().url(), 'redis://127.0.0.1:6379', 'Redis URL (dedup workers).'),
  logLevel: setting('logLevel', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']), 'info', 'Log level.'),
  metricsHost: setting('metricsHost', z.string().min(1), '0.0.0.0', 'Address of the /metrics, /healthz, /readyz server.'),
  metricsPort: setting('metricsPort', port, 9601, 'Port of the /metrics, /healthz, /readyz server.'),
  sinks: setting('sinks', z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))])
    .pipe(z.array(z.string().regex(/^[a-z0-9_-]{1,32}$/)).min(1)), ['file'],
    'Sink names; each gets its own queue bound to the processed exchange. Workers declare them too, so nothing is published before the queues exist.'),
  drainTimeoutMs: setting('drainTimeoutMs', positiveInt, 15000, 'Longest a SIGTERM drain may take before exit.'),

  receiverId: setting('receiver.id', receiverId, 'a', 'Stable id of this receiver; dedup counts copies per receiver id.'),
  listenHost: setting('receiver.listenHost', z.string().min(1), '0.0.0.0', 'Address the inputs listen on.'),
  syslogPort: setting('receiver.syslogPort', port, 5514, 'Syslog port, UDP and TCP (0 disables).'),
  httpPort: setting('receiver.httpPort', port, 8888, 'HTTP input port (0 disables).'),
  maxFrameBytes: setting('receiver.maxFrameBytes', positiveInt, 65536,
    'Largest syslog frame; a larger TCP frame closes the connection, a larger UDP datagram is dropped and counted.'),
  httpMaxBodyBytes: setting('receiver.httpMaxBodyBytes', positiveInt, 4 * 1024 * 1024, 'Largest HTTP request body.'),
  hashSourceAddress: setting('receiver.hashSourceAddress', bool, true,
    'Include the sender address in the syslog dedup key; turn off when copies reach receivers through different NATs or relays.'),
  batchMaxEvents: setting('receiver.batchMaxEvents', positiveInt, 500, 'A batch is published when it holds this many events…'),
  batchMaxBytes: setting('receiver.batchMaxBytes', positiveInt, 64 * 1024, '…or this many encoded bytes…'),
  batchMaxDelayMs: setting('receiver.batchMaxDelayMs', positiveInt, 20, '…or its first event is this old.'),
  maxUnconfirmedBatches: setting('receiver.maxUnconfirmedBatches', positiveInt, 32,
    'Batches awaiting the broker confirm before TCP is paused and HTTP waits (backpressure).'),
  maxBufferedBatches: setting('receiver.maxBufferedBatches', positiveInt, 256,
    'Hard bound on batches held in memory; past it UDP datagrams are dropped and counted.'),

  workerId: setting('worker.id', receiverId, 'w1', 'Name of this dedup worker in logs and metrics.'),
  workerPrefetch: setting('worker.prefetch', positiveInt, 16, 'Batches a worker holds unacknowledged at once.'),
  dedupWindowSeconds: setting('worker.dedupWindowSeconds', positiveInt, 600,
    'How long copies of one event are matched; must exceed the longest delay between copies (spool replay).'),
  dedupPartitions: setting('worker.dedupPartitions', z.coerce.number().int().min(1).max(16384), 1,
    'Redis hash-tag partitions of the dedup keys: 1 on one Redis, 16 or more on a Redis Cluster.'),

  uploaderId: setting('uploader.id', receiverId, 'u1', 'Name of this uploader in logs and metrics.'),
  uploaderPrefetch: setting('uploader.prefetch', positiveInt, 64, 'Processed batches an uploader holds per sink.'),
  fileSinkDir: setting('uploader.fileSink.dir', z.string().min(1), 'data/out', 'Directory of the hourly NDJSON files.'),
  fileSinkFsync: setting('uploader.fileSink.fsync', bool, true,
    'fdatasync before acknowledging; off trusts the page cache (faster, loses the last writes on power loss).'),
  fileSinkFlushMs: setting('uploader.fileSink.flushIntervalMs', positiveInt, 5,
    'Longest a processed batch waits to be written together with others (while a write runs, deliveries gather anyway).'),
} as const;

export type Settings = typeof settings;
export type SettingName = keyof Settings;
export type Config = { readonly [K in SettingName]: Settings[K]['default'] };
