import { z } from 'zod';
import { parseAmqpUrls } from '../amqp/broker-endpoints.js';
import { parseRedisUrl, RedisUrlError } from '../redis-endpoints.js';

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

function isTimeZoneName(name: string): boolean {
  if (name === 'UTC' || name === 'local') return true;
  try { new Intl.DateTimeFormat('en-US', { timeZone: name }); return true; } catch { return false; }
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const receiverId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32');
/** A value given as JSON text (an environment variable) or as JSON already (the config file). */
const jsonValue = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v) as unknown; } catch (err) { ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` }); return z.NEVER; }
});
/** One amqp(s):// URL or a comma-separated list of them; an error names the bad entry, password hidden. */
const amqpUrlList = z.string().superRefine((v, ctx) => {
  try { parseAmqpUrls(v); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as Error).message }); }
});
const redisUrlSchema = z.string().superRefine((v, ctx) => {
  try { parseRedisUrl(v); } catch (err) { if (err instanceof RedisUrlError) ctx.addIssue({ code: 'custom', message: err.message }); else throw err; }
});
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _, at most 40, not starting with a digit');
/** The kinds of sink the uploader can run; a named sink picks one with its `type`. */
export const sinkTypes = ['file', 'forward', 'postgres', 'http', 'stdout'] as const;

export const settings = {
  namespace: setting('namespace', z.string().regex(/^[a-z0-9_.-]{1,40}$/), 'fanin',
    'Prefix of every exchange, queue and Redis key: lets several fleets (or tests) share one broker and one Redis.'),
  amqpUrl: setting('amqpUrl', amqpUrlList, 'amqp://guest:guest@127.0.0.1:5672',
    'RabbitMQ URL, or a comma-separated list of the nodes of a RabbitMQ cluster: each process connects to one of them (its own shuffled order) and fails over to the next on a connection loss.'),
  quorumInitialGroupSize: setting('quorumInitialGroupSize', z.coerce.number().int().min(1).max(255), 3,
    'Replicas of each quorum queue the fleet creates (x-quorum-initial-group-size); RabbitMQ caps it at the cluster size. An existing queue keeps its own.'),
  newQueueShards: setting('newQueueShards', z.coerce.number().int().min(1).max(64), 1,
    'Quorum queues that carry new batches from the receivers to the dedup workers: <ns>.new, then <ns>.new.1 and on. Receivers spread batches over them, workers consume them all. One queue has one leader node; more shards spread the load over a RabbitMQ cluster. Set it alike on every process. See docs/scaling.md.'),
  redisUrl: setting('redisUrl', redisUrlSchema, 'redis://127.0.0.1:6379',
    'Redis of the dedup workers: redis://[user:pass@]host:port (one node), redis+sentinel://[user:pass@]h1:p1,h2:p2,h3:p3/<master-name> (Sentinel, follows failovers) or redis+cluster://[user:pass@]h1:p1,h2:p2,h3:p3 (Redis Cluster); rediss… for TLS. See docs/redis.md.'),
  logLevel: setting('logLevel', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']), 'info', 'Log level.'),
  metricsHost: setting('metricsHost', z.string().min(1), '0.0.0.0', 'Address of the /metrics, /healthz, /readyz server.'),
  metricsPort: setting('metricsPort', port, 9601, 'Port of the /metrics, /healthz, /readyz server.'),
  sinks: setting('sinks', z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))])
    .pipe(z.array(z.string().regex(/^[a-z0-9_-]{1,32}$/)).min(1)), ['file'],
    'Sink names; each gets its own queue bound to the processed exchange. Workers declare them too, so nothing is published before the queues exist.'),
  sinkDefinitions: setting('sinkDefinitions', jsonValue
    .pipe(z.record(z.string().regex(/^[a-z0-9_-]{1,32}$/), z.looseObject({ type: z.enum(sinkTypes) }))), {},
    'Named sinks: {"<name>": {"type": "file|forward|postgres|http|stdout", <options>}}. A name in `sinks` without a definition must be a type and uses that type\'s uploader.<type>Sink.* settings; see docs/sinks.md.'),
  drainTimeoutMs: setting('drainTimeoutMs', positiveInt, 15000, 'Longest a SIGTERM drain may take before exit.'),

  receiverId: setting('receiver.id', receiverId, 'a', 'Stable id of this receiver; dedup counts copies per receiver id.'),
  listenHost: setting('receiver.listenHost', z.string().min(1), '0.0.0.0', 'Address the inputs listen on.'),
  syslogPort: setting('receiver.syslogPort', port, 5514, 'Syslog port, UDP and TCP (0 disables).'),
  httpPort: setting('receiver.httpPort', port, 8888, 'HTTP input port (0 disables).'),
  maxFrameBytes: setting('receiver.maxFrameBytes', positiveInt, 65536,
    'Largest syslog message: a larger TCP/TLS frame (or an octet count declaring one) closes the connection, a larger UDP datagram is dropped; both counted.'),
  httpMaxBodyBytes: setting('receiver.httpMaxBodyBytes', positiveInt, 4 * 1024 * 1024, 'Largest HTTP request body.'),
  hashSourceAddress: setting('receiver.hashSourceAddress', bool, true,
    'Include the sender address in the syslog dedup key; turn off when copies reach receivers through different NATs or relays.'),
  syslogTlsPort: setting('receiver.syslogTlsPort', port, 6514,
    'Syslog over TLS (RFC 5425) port (0 disables); without receiver.tlsCertFile the TLS listener is not started and one warning is logged.'),
  tlsCertFile: setting('receiver.tlsCertFile', z.string(), '', 'PEM certificate (with its chain) of the syslog TLS listener.'),
  tlsKeyFile: setting('receiver.tlsKeyFile', z.string(), '', 'PEM private key of that certificate.'),
  tlsCaFile: setting('receiver.tlsCaFile', z.string(), '', 'PEM CA certificates that client certificates must chain to (mutual TLS).'),
  tlsRequireClientCert: setting('receiver.tlsRequireClientCert', bool, false,
    'Mutual TLS: close a connection whose client certificate is missing or does not chain to receiver.tlsCaFile.'),
  tlsHandshakeTimeoutMs: setting('receiver.tlsHandshakeTimeoutMs', positiveInt, 10_000,
    'A TLS handshake must complete within this time of the TCP accept, however slowly its bytes trickle in.'),
  idleTimeoutMs: setting('receiver.idleTimeoutMs', nonNegativeInt, 0,
    'Close a syslog TCP/TLS connection that sent nothing for this long (0: never). Connections paused for backpressure are exempt.'),
  maxConnections: setting('receiver.maxConnections', positiveInt, 1024,
    'Open syslog TCP and TLS connections, together; a connection past it is closed at once and counted.'),
  maxConnectionsPerAddress: setting('receiver.maxConnectionsPerAddress', positiveInt, 64,
    'Open syslog TCP and TLS connections from one sender address; a connection past it is closed at once and counted.'),
  udpReceiveBufferBytes: setting('receiver.udpReceiveBufferBytes', nonNegativeInt, 4 * 1024 * 1024,
    'SO_RCVBUF requested for the syslog UDP socket (0: the kernel default); Linux caps it at net.core.rmem_max. The effective size is logged.'),
  rfc3164TimeZone: setting('receiver.rfc3164TimeZone', z.string().refine(isTimeZoneName, 'UTC, local, or an IANA zone name such as Europe/Berlin'), 'UTC',
    'Time zone of RFC 3164 timestamps, which carry none: UTC, local, or an IANA name (daylight saving applied).'),
  relpPort: setting('receiver.relpPort', port, 0,
    'RELP input port (rsyslog omrelp; 0 disables): each message is answered "rsp 200" only after the broker confirmed (or the spool took) its batch; see docs/relp.md.'),
  relpTls: setting('receiver.relpTls', bool, false,
    'RELP over TLS (omrelp tls="on"), with the receiver\'s TLS certificate and client-certificate settings.'),
  // Batch bounds, confirms in flight and prefetch tuned with `npm run bench` (bench/README.md): 256 KiB batches with
  // 64 in flight sustained 30.4k unique events/s against 23.1k for 64 KiB with 32 (and prefetch 16), side by side;
  // 128 KiB with prefetch 32 then kept that maximum (43.5k vs 43.4k, medians of two runs each, alternated) and halved
  // the p99 receipt-to-sink latency at 23k events/s (186 ms against 392 ms).
  batchMaxEvents: setting('receiver.batchMaxEvents', positiveInt, 2000, 'A batch is published when it holds this many events…'),
  batchMaxBytes: setting('receiver.batchMaxBytes', positiveInt, 128 * 1024, '…or this many encoded bytes…'),
  batchMaxDelayMs: setting('receiver.batchMaxDelayMs', positiveInt, 20, '…or its first event is this old.'),
  maxUnconfirmedBatches: setting('receiver.maxUnconfirmedBatches', positiveInt, 64,
    'Batches awaiting the broker confirm before TCP is paused and HTTP waits (backpressure).'),
  maxBufferedBatches: setting('receiver.maxBufferedBatches', positiveInt, 128,
    'Hard bound on batches held in memory (with batchMaxBytes: 16 MiB by default); past it UDP datagrams are dropped and counted.'),

  spoolDir: setting('receiver.spool.dir', z.string(), 'data/spool',
    'Directory of the on-disk spool (a subdirectory per receiver id); empty disables spooling.'),
  spoolMaxBytes: setting('receiver.spool.maxBytes', positiveInt, 1024 * 1024 * 1024,
    'Spool size bound; when full, TCP is paused, HTTP answers 503 and UDP drops are counted.'),
  spoolSegmentBytes: setting('receiver.spool.segmentBytes', positiveInt, 8 * 1024 * 1024, 'Size of one spool segment file.'),
  spoolFsync: setting('receiver.spool.fsync', z.enum(['always', 'never']), 'always',
    'fdatasync each spooled batch (it is acknowledged to HTTP and Forward senders once spooled).'),

  forwardPort: setting('receiver.forwardPort', port, 24224,
    'Fluentd Forward input port (in_forward compatible): TCP for events, UDP heartbeats on the same port (0 disables).'),
  forwardTls: setting('receiver.forwardTls', bool, false,
    'Forward input over TLS (in_forward <transport tls>), with the receiver\'s TLS certificate and client-certificate settings.'),
  forwardSharedKey: setting('receiver.forwardSharedKey', z.string(), '',
    'Forward shared key: when set, every connection must pass the HELO/PING/PONG handshake (the receiver names itself fanin-<receiver id>); empty: no handshake.'),
  forwardUsers: setting('receiver.forwardUsers', z.string().regex(/^([^,:]+:[^,]+)?(,[^,:]+:[^,]+)*$/, 'user:password[,user2:password2]'), '',
    'Forward user authentication on top of the shared key: "user:password,user2:password2" (empty: none).'),
  forwardMaxChunkBytes: setting('receiver.forwardMaxChunkBytes', positiveInt, 8 * 1024 * 1024,
    'Largest Forward message on the wire; a larger one (or a msgpack header declaring one) closes the connection, counted.'),
  forwardMaxDecompressedBytes: setting('receiver.forwardMaxDecompressedBytes', positiveInt, 16 * 1024 * 1024,
    'Largest inflated CompressedPackedForward payload; past it inflation stops and the connection is closed, counted.'),
  forwardMaxChunkEvents: setting('receiver.forwardMaxChunkEvents', positiveInt, 50_000,
    'Most events in one Forward message. A chunk travels as one batch (so a resend is dropped whole): this and the size bounds keep that batch under the broker\'s message size limit.'),
  forwardIdleTimeoutMs: setting('receiver.forwardIdleTimeoutMs', positiveInt, 300_000,
    'Close a Forward connection that sent nothing for this long; a connection waiting for its acks or paused for backpressure is not idle.'),
  httpBearerToken: setting('receiver.httpBearerToken', z.string(), '',
    'When set, the HTTP input answers 401 to requests without "Authorization: Bearer <token>".'),

  workerId: setting('worker.id', receiverId, 'w1', 'Name of this dedup worker in logs and metrics.'),
  workerPrefetch: setting('worker.prefetch', positiveInt, 32, 'Batches a worker holds unacknowledged at once.'),
  dedupWindowSeconds: setting('worker.dedupWindowSeconds', positiveInt, 600,
    'How long copies of one event are matched; must exceed the longest delay between copies (spool replay).'),
  dedupPartitions: setting('worker.dedupPartitions', z.union([z.literal('auto'), z.coerce.number().int().min(1).max(16384)]), 'auto',
    'Redis hash-tag partitions of the dedup keys (every worker must use the same): auto is 1 on one Redis or a Sentinel master and 16 on a Redis Cluster, where fewer than 3 is refused at start-up.'),
  redisWaitReplicas: setting('worker.redisWaitReplicas', nonNegativeInt, 0,
    'After each batch\'s script, WAIT until this many replicas of the node that ran it hold the decisions, before publishing and acking; 0: no WAIT. See docs/redis.md.'),
  redisWaitTimeoutMs: setting('worker.redisWaitTimeoutMs', positiveInt, 2000,
    'Longest a WAIT may block; fewer replicas than worker.redisWaitReplicas by then returns the batch to the queue (it is retried).'),

  redisDownMode: setting('worker.redisDownMode', z.enum(['hold', 'pass-through']), 'hold',
    'While Redis is unreachable: hold (stop consuming; batches wait in RabbitMQ) or pass-through (publish every copy flagged dedup: skipped).'),

  uploaderId: setting('uploader.id', receiverId, 'u1', 'Name of this uploader in logs and metrics.'),
  uploaderPrefetch: setting('uploader.prefetch', positiveInt, 64, 'Processed batches an uploader holds per sink.'),
  sinkMaxAttempts: setting('uploader.sinkMaxAttempts', positiveInt, 8,
    'Failed writes (exponential backoff with jitter between them) before a batch goes to the secondary.'),
  secondaryDir: setting('uploader.secondaryDir', z.string(), 'data/secondary',
    'Secondary file sink (a subdirectory per sink) for batches a sink keeps refusing; empty: retry the sink forever.'),
  fileSinkDir: setting('uploader.fileSink.dir', z.string().min(1), 'data/out', 'Directory of the hourly NDJSON files.'),
  fileSinkFsync: setting('uploader.fileSink.fsync', bool, true,
    'fdatasync before acknowledging; off trusts the page cache (faster, loses the last writes on power loss).'),
  fileSinkFlushMs: setting('uploader.fileSink.flushIntervalMs', positiveInt, 5,
    'Longest a processed batch waits to be written together with others (while a write runs, deliveries gather anyway).'),
  fileSinkPath: setting('uploader.fileSink.path', z.string().min(1), 'events.%Y-%m-%d-%H.ndjson',
    'strftime file name over each event\'s receipt time (%Y %y %m %d %H %M %S %j %z %%), td-agent style; no directories.'),
  fileSinkTime: setting('uploader.fileSink.time', z.enum(['utc', 'local']), 'utc', 'Clock of the path pattern: UTC or the process\'s local time zone (TZ).'),
  fileSinkMaxBytes: setting('uploader.fileSink.maxBytes', nonNegativeInt, 0,
    'Size cap of one file: a period\'s file rolls to <name>.1.<ext>, .2… before it would pass it (0: no cap).'),
  fileSinkGzip: setting('uploader.fileSink.gzip', bool, false,
    'gzip closed files (rolled, or of a past period idle for closeIdleMs) in the background; the plain file is removed only after the .gz is durable.'),
  fileSinkCloseIdleMs: setting('uploader.fileSink.closeIdleMs', positiveInt, 600_000,
    'A past period\'s file not written for this long is closed (and gzipped); events for it arriving later go to its next index.'),

  postgresSinkUrl: setting('uploader.postgresSink.url', z.string().min(1), 'postgres://postgres@127.0.0.1:5432/fanin',
    'PostgreSQL connection URL (libpq style; PG* environment variables fill what it leaves out).'),
  postgresSinkSchema: setting('uploader.postgresSink.schema', sqlIdentifier, 'public', 'Schema of the events table.'),
  postgresSinkTable: setting('uploader.postgresSink.table', sqlIdentifier, 'fanin_events',
    'Events table, created with its indexes by a versioned migration if absent (and <table>_rejected for undecodable bodies).'),
  postgresSinkPartitioning: setting('uploader.postgresSink.partitioning', z.enum(['none', 'daily']), 'none',
    'daily: declarative partitions by the UTC day of receipt, primary key (id, received_day); fixed when the table is created.'),
  postgresSinkRetentionDays: setting('uploader.postgresSink.retentionDays', nonNegativeInt, 0,
    'With daily partitions: drop the partitions of days more than this many days before today (UTC), hourly; 0 keeps everything.'),
  postgresSinkRecordIndex: setting('uploader.postgresSink.recordIndex', bool, false,
    'Create a GIN index (jsonb_path_ops) on record for @> queries; costs write throughput.'),
  postgresSinkPoolSize: setting('uploader.postgresSink.poolSize', positiveInt, 2, 'Connections of this sink (writes are serial; one more for maintenance).'),
  postgresSinkConnectTimeoutMs: setting('uploader.postgresSink.connectTimeoutMs', positiveInt, 5000, 'Limit of one connection attempt.'),
  postgresSinkStatementTimeoutMs: setting('uploader.postgresSink.statementTimeoutMs', positiveInt, 30_000,
    'statement_timeout of the sink\'s sessions: a write that takes longer fails and is retried (idempotent by id).'),

  httpSinkUrl: setting('uploader.httpSink.url', z.string(), '',
    'Endpoint of the HTTP sink: NDJSON POST target, or the Elasticsearch/OpenSearch base URL (…/_bulk is appended) in bulk mode.'),
  httpSinkMode: setting('uploader.httpSink.mode', z.enum(['ndjson', 'bulk']), 'ndjson',
    'ndjson: one POST per processed batch with an Idempotency-Key; bulk: the _bulk API with create and _id = event id.'),
  httpSinkIndex: setting('uploader.httpSink.index', z.string().min(1), 'fanin-%Y.%m.%d',
    'Bulk mode: index name, a strftime pattern over the UTC receipt time.'),
  httpSinkAuthorization: setting('uploader.httpSink.authorization', z.string(), '',
    'Value of the Authorization header ("Bearer …", "Basic …", "ApiKey …"); empty: none.'),
  httpSinkTimeoutMs: setting('uploader.httpSink.timeoutMs', positiveInt, 10_000, 'Limit of one request, response included.'),
  httpSinkCompress: setting('uploader.httpSink.compress', bool, false, 'gzip request bodies (Content-Encoding: gzip).'),
  httpSinkConcurrency: setting('uploader.httpSink.concurrency', positiveInt, 4, 'Requests of one write in flight at once.'),

  forwardSinkServers: setting('uploader.forwardSink.servers', z.string(), '',
    'Aggregators of the forward sink (out_forward compatible): "host:port[:weight][:standby],…", IPv6 as [addr]:port; weight defaults to 60.'),
  forwardSinkRequireAckResponse: setting('uploader.forwardSink.requireAckResponse', bool, true,
    'Wait for the aggregator\'s ack of every chunk before acking the AMQP input (at-least-once); off acks once the bytes are written.'),
  forwardSinkAckResponseTimeoutMs: setting('uploader.forwardSink.ackResponseTimeoutMs', positiveInt, 30000,
    'A chunk not acked within this is resent (to another server if one is up) and its server taken out of rotation.'),
  forwardSinkConnectTimeoutMs: setting('uploader.forwardSink.connectTimeoutMs', positiveInt, 5000, 'Limit of a connect plus handshake.'),
  forwardSinkHeartbeatType: setting('uploader.forwardSink.heartbeatType', z.enum(['tcp', 'udp', 'none']), 'tcp',
    'tcp: a connection that opens is a heartbeat; udp: in_forward\'s UDP heartbeat on the same port; none: servers are never taken out of rotation.'),
  forwardSinkHeartbeatIntervalMs: setting('uploader.forwardSink.heartbeatIntervalMs', positiveInt, 1000, 'Interval of the heartbeats to each server.'),
  forwardSinkDownAfterFailures: setting('uploader.forwardSink.downAfterFailures', positiveInt, 3,
    'Consecutive missed heartbeats before a server leaves the rotation (a failed send takes it out at once).'),
  forwardSinkUpAfterHeartbeats: setting('uploader.forwardSink.upAfterHeartbeats', positiveInt, 3,
    'Consecutive answered heartbeats before a server that was down is used again (out_forward\'s recover_wait).'),
  forwardSinkCompress: setting('uploader.forwardSink.compress', z.enum(['text', 'gzip']), 'text', 'gzip sends CompressedPackedForward.'),
  forwardSinkTls: setting('uploader.forwardSink.tls', bool, false, 'Connect to the aggregators over TLS.'),
  forwardSinkTlsCaFile: setting('uploader.forwardSink.tlsCaFile', z.string(), '', 'PEM file of the CAs to trust (empty: the system store).'),
  forwardSinkTlsInsecure: setting('uploader.forwardSink.tlsInsecure', bool, false, 'Skip certificate and host name verification.'),
  forwardSinkSharedKey: setting('uploader.forwardSink.sharedKey', z.string(), '',
    'shared_key of the HELO/PING/PONG handshake (empty: no handshake).'),
  forwardSinkSelfHostname: setting('uploader.forwardSink.selfHostname', z.string(), '',
    'self_hostname sent in the handshake (empty: the machine\'s host name); must differ from the aggregator\'s.'),
  forwardSinkUsername: setting('uploader.forwardSink.username', z.string(), '', 'User for aggregators that authenticate users.'),
  forwardSinkPassword: setting('uploader.forwardSink.password', z.string(), '', 'Password of that user.'),
  forwardSinkIdKey: setting('uploader.forwardSink.idKey', z.string().regex(/^[A-Za-z0-9_.@-]{0,64}$/), 'fanin_id',
    'Record key that carries the fanin event id, so aggregators can dedupe replays (empty: records are left as they are).'),
} as const;

export type Settings = typeof settings;
export type SettingName = keyof Settings;
export type Config = { readonly [K in SettingName]: Settings[K]['default'] };
