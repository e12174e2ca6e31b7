import { z } from 'zod';
import { allSinkSettings, sinkTypes } from '../../uploader/sink-registry.js';
import { parseAmqpUrls } from '../amqp/broker-endpoints.js';
import { parseRedisUrl, RedisUrlError } from '../redis-endpoints.js';
import { bool, nonNegativeInt, port, positiveInt, setting } from './setting-spec.js';

export type { SettingSpec } from './setting-spec.js';

/**
 * Every setting of every process, as data: its config-file key, its environment variable, its schema and default.
 * One table means the README, the validator and the error messages cannot drift apart (fastify validates its
 * options once at start the same way), and compose can set anything through the environment. Each sink type's
 * uploader.<type>Sink.* block lives in its folder (uploader/<type>-sink/settings.ts) and joins through the sink
 * registry.
 */
function isTimeZoneName(name: string): boolean {
  if (name === 'UTC' || name === 'local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const receiverId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32');
/** A fleet id, or empty (replication metadata off); same alphabet as receiver ids (it travels in records and paths). */
const fleetId = z.string().regex(/^[A-Za-z0-9_-]{0,32}$/, 'letters, digits, _ or -, at most 32 (empty: no fleet id)');
const recordKey = z.string().regex(/^[A-Za-z0-9_.@-]{0,64}$/, 'letters, digits, _ . @ or -, at most 64');
/** A value given as JSON text (an environment variable) or as JSON already (the config file). */
const jsonValue = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
    return z.NEVER;
  }
});
/** One amqp(s):// URL or a comma-separated list of them; an error names the bad entry, password hidden. */
const amqpUrlList = z.string().superRefine((v, ctx) => {
  try {
    parseAmqpUrls(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const redisUrlSchema = z.string().superRefine((v, ctx) => {
  try {
    parseRedisUrl(v);
  } catch (err) {
    if (err instanceof RedisUrlError) ctx.addIssue({ code: 'custom', message: err.message });
    else throw err;
  }
});

const coreSettings = {
  namespace: setting(
    'namespace',
    z.string().regex(/^[a-z0-9_.-]{1,40}$/),
    'fanin',
    'Prefix of every exchange, queue and Redis key: lets several fleets (or tests) share one broker and one Redis.',
  ),
  amqpUrl: setting(
    'amqpUrl',
    amqpUrlList,
    'amqp://guest:guest@127.0.0.1:5672',
    'RabbitMQ URL, or a comma-separated list of the nodes of a RabbitMQ cluster: each process connects to one of them (its own shuffled order) and fails over to the next on a connection loss.',
  ),
  quorumInitialGroupSize: setting(
    'quorumInitialGroupSize',
    z.coerce.number().int().min(1).max(255),
    3,
    'Replicas of each quorum queue the fleet creates (x-quorum-initial-group-size); RabbitMQ caps it at the cluster size. An existing queue keeps its own.',
  ),
  newQueueShards: setting(
    'newQueueShards',
    z.coerce.number().int().min(1).max(64),
    1,
    'Quorum queues that carry new batches from the receivers to the dedup workers: <ns>.new, then <ns>.new.1 and on. Receivers spread batches over them, workers consume them all. One queue has one leader node; more shards spread the load over a RabbitMQ cluster. Set it alike on every process. See docs/scaling.md.',
  ),
  redisUrl: setting(
    'redisUrl',
    redisUrlSchema,
    'redis://127.0.0.1:6379',
    'Redis of the dedup workers: redis://[user:pass@]host:port (one node), redis+sentinel://[user:pass@]h1:p1,h2:p2,h3:p3/<master-name> (Sentinel, follows failovers) or redis+cluster://[user:pass@]h1:p1,h2:p2,h3:p3 (Redis Cluster); rediss… for TLS. See docs/redis.md.',
  ),
  logLevel: setting('logLevel', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']), 'info', 'Log level.'),
  metricsHost: setting(
    'metricsHost',
    z.string().min(1),
    '0.0.0.0',
    'Address of the /metrics, /healthz, /readyz server.',
  ),
  metricsPort: setting('metricsPort', port, 9601, 'Port of the /metrics, /healthz, /readyz server.'),
  sinks: setting(
    'sinks',
    z
      .union([
        z.array(z.string()),
        z.string().transform((v) =>
          v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        ),
      ])
      .pipe(z.array(z.string().regex(/^[a-z0-9_-]{1,32}$/)).min(1)),
    ['file'],
    'Sink names; each gets its own queue bound to the processed exchange. Workers declare them too, so nothing is published before the queues exist.',
  ),
  sinkDefinitions: setting(
    'sinkDefinitions',
    jsonValue.pipe(z.record(z.string().regex(/^[a-z0-9_-]{1,32}$/), z.looseObject({ type: z.enum(sinkTypes) }))),
    {},
    `Named sinks: {"<name>": {"type": "${sinkTypes.join('|')}", <options>}}. ` +
      "A name in `sinks` without a definition must be a type and uses that type's uploader.<type>Sink.* settings; see docs/sinks.md.",
  ),
  drainTimeoutMs: setting('drainTimeoutMs', positiveInt, 15000, 'Longest a SIGTERM drain may take before exit.'),

  fleetId: setting(
    'fleet.id',
    fleetId,
    '',
    'Id of this fleet, the same in all its processes and unique among the fleets that replicate to each other (docs/replication.md). Empty: replication metadata off (Forward sinks send no path, Forward inputs treat every record as an ordinary event).',
  ),
  fleetIdKey: setting(
    'fleet.idKey',
    recordKey.min(1),
    'fanin_id',
    "Record key a Forward input reads a replicated event's original fanin id from (the sending fleet's uploader.forwardSink.idKey).",
  ),
  fleetPathKey: setting(
    'fleet.pathKey',
    recordKey.min(1),
    'fanin_path',
    "Record key a Forward input reads a replicated event's fleet path from (the sending fleet's uploader.forwardSink.pathKey).",
  ),
  receiverId: setting(
    'receiver.id',
    receiverId,
    'a',
    'Stable id of this receiver; dedup counts copies per receiver id.',
  ),
  listenHost: setting('receiver.listenHost', z.string().min(1), '0.0.0.0', 'Address the inputs listen on.'),
  syslogPort: setting('receiver.syslogPort', port, 5514, 'Syslog port, UDP and TCP (0 disables).'),
  httpPort: setting('receiver.httpPort', port, 8888, 'HTTP input port (0 disables).'),
  maxFrameBytes: setting(
    'receiver.maxFrameBytes',
    positiveInt,
    65536,
    'Largest syslog message: a larger TCP/TLS frame (or an octet count declaring one) closes the connection, a larger UDP datagram is dropped; both counted.',
  ),
  httpMaxBodyBytes: setting('receiver.httpMaxBodyBytes', positiveInt, 4 * 1024 * 1024, 'Largest HTTP request body.'),
  syslogKeepRaw: setting(
    'receiver.syslogKeepRaw',
    bool,
    false,
    "Keep each syslog line's bytes in its event body, so the syslog sink can hand it on byte for byte (docs/syslog-sink.md); roughly doubles a syslog body.",
  ),
  hashSourceAddress: setting(
    'receiver.hashSourceAddress',
    bool,
    true,
    'Include the sender address in the syslog dedup key; turn off when copies reach receivers through different NATs or relays.',
  ),
  syslogTlsPort: setting(
    'receiver.syslogTlsPort',
    port,
    6514,
    'Syslog over TLS (RFC 5425) port (0 disables); without receiver.tlsCertFile the TLS listener is not started and one warning is logged.',
  ),
  tlsCertFile: setting(
    'receiver.tlsCertFile',
    z.string(),
    '',
    'PEM certificate (with its chain) of the syslog TLS listener.',
  ),
  tlsKeyFile: setting('receiver.tlsKeyFile', z.string(), '', 'PEM private key of that certificate.'),
  tlsCaFile: setting(
    'receiver.tlsCaFile',
    z.string(),
    '',
    'PEM CA certificates that client certificates must chain to (mutual TLS).',
  ),
  tlsRequireClientCert: setting(
    'receiver.tlsRequireClientCert',
    bool,
    false,
    'Mutual TLS: close a connection whose client certificate is missing or does not chain to receiver.tlsCaFile.',
  ),
  tlsHandshakeTimeoutMs: setting(
    'receiver.tlsHandshakeTimeoutMs',
    positiveInt,
    10_000,
    'A TLS handshake must complete within this time of the TCP accept, however slowly its bytes trickle in.',
  ),
  idleTimeoutMs: setting(
    'receiver.idleTimeoutMs',
    nonNegativeInt,
    0,
    'Close a syslog TCP/TLS connection that sent nothing for this long (0: never). Connections paused for backpressure are exempt.',
  ),
  maxConnections: setting(
    'receiver.maxConnections',
    positiveInt,
    1024,
    'Open syslog TCP and TLS connections, together; a connection past it is closed at once and counted.',
  ),
  maxConnectionsPerAddress: setting(
    'receiver.maxConnectionsPerAddress',
    positiveInt,
    64,
    'Open syslog TCP and TLS connections from one sender address (behind the PROXY protocol: the sender it names); a connection past it is closed at once and counted.',
  ),
  udpReceiveBufferBytes: setting(
    'receiver.udpReceiveBufferBytes',
    nonNegativeInt,
    4 * 1024 * 1024,
    'SO_RCVBUF requested for the syslog UDP socket (0: the kernel default); Linux caps it at net.core.rmem_max. The effective size is logged.',
  ),
  rfc3164TimeZone: setting(
    'receiver.rfc3164TimeZone',
    z.string().refine(isTimeZoneName, 'UTC, local, or an IANA zone name such as Europe/Berlin'),
    'UTC',
    'Time zone of RFC 3164 timestamps, which carry none: UTC, local, or an IANA name (daylight saving applied).',
  ),
  relpPort: setting(
    'receiver.relpPort',
    port,
    0,
    'RELP input port (rsyslog omrelp; 0 disables): each message is answered "rsp 200" only after the broker confirmed (or the spool took) its batch; see docs/relp.md.',
  ),
  relpTls: setting(
    'receiver.relpTls',
    bool,
    false,
    'RELP over TLS (omrelp tls="on"), with the receiver\'s TLS certificate and client-certificate settings.',
  ),
  // Batch bounds, confirms in flight and prefetch tuned side by side with `npm run bench` (figures in bench/README.md,
  // "What moved the number"): larger batches with more in flight raise the ceiling until the broker's per-message
  // work is amortised; beyond that, smaller batches keep the same ceiling with lower receipt-to-sink latency.
  batchMaxEvents: setting(
    'receiver.batchMaxEvents',
    positiveInt,
    2000,
    'A batch is published when it holds this many events…',
  ),
  batchMaxBytes: setting('receiver.batchMaxBytes', positiveInt, 128 * 1024, '…or this many encoded bytes…'),
  batchMaxDelayMs: setting('receiver.batchMaxDelayMs', positiveInt, 20, '…or its first event is this old.'),
  maxUnconfirmedBatches: setting(
    'receiver.maxUnconfirmedBatches',
    positiveInt,
    64,
    'Batches awaiting the broker confirm before TCP is paused and HTTP waits (backpressure).',
  ),
  maxBufferedBatches: setting(
    'receiver.maxBufferedBatches',
    positiveInt,
    128,
    'Hard bound on batches held in memory (with batchMaxBytes: 16 MiB by default); past it UDP datagrams are dropped and counted.',
  ),

  spoolDir: setting(
    'receiver.spool.dir',
    z.string(),
    'data/spool',
    'Directory of the on-disk spool (a subdirectory per receiver id); empty disables spooling.',
  ),
  spoolMaxBytes: setting(
    'receiver.spool.maxBytes',
    positiveInt,
    1024 * 1024 * 1024,
    'Spool size bound; when full, TCP is paused, HTTP answers 503 and UDP drops are counted.',
  ),
  spoolSegmentBytes: setting(
    'receiver.spool.segmentBytes',
    positiveInt,
    8 * 1024 * 1024,
    'Size of one spool segment file.',
  ),
  spoolFsync: setting(
    'receiver.spool.fsync',
    z.enum(['always', 'never']),
    'always',
    'fdatasync each spooled batch (it is acknowledged to HTTP and Forward senders once spooled).',
  ),

  forwardPort: setting(
    'receiver.forwardPort',
    port,
    24224,
    'Fluentd Forward input port (in_forward compatible): TCP for events, UDP heartbeats on the same port (0 disables).',
  ),
  forwardTls: setting(
    'receiver.forwardTls',
    bool,
    false,
    "Forward input over TLS (in_forward <transport tls>), with the receiver's TLS certificate and client-certificate settings.",
  ),
  forwardSharedKey: setting(
    'receiver.forwardSharedKey',
    z.string(),
    '',
    'Forward shared key: when set, every connection must pass the HELO/PING/PONG handshake (the receiver names itself fanin-<receiver id>); empty: no handshake.',
  ),
  forwardUsers: setting(
    'receiver.forwardUsers',
    z.string().regex(/^([^,:]+:[^,]+)?(,[^,:]+:[^,]+)*$/, 'user:password[,user2:password2]'),
    '',
    'Forward user authentication on top of the shared key: "user:password,user2:password2" (empty: none).',
  ),
  forwardMaxChunkBytes: setting(
    'receiver.forwardMaxChunkBytes',
    positiveInt,
    8 * 1024 * 1024,
    'Largest Forward message on the wire; a larger one (or a msgpack header declaring one) closes the connection, counted.',
  ),
  forwardMaxDecompressedBytes: setting(
    'receiver.forwardMaxDecompressedBytes',
    positiveInt,
    16 * 1024 * 1024,
    'Largest inflated CompressedPackedForward payload; past it inflation stops and the connection is closed, counted.',
  ),
  forwardMaxChunkEvents: setting(
    'receiver.forwardMaxChunkEvents',
    positiveInt,
    50_000,
    "Most events in one Forward message. A chunk travels as one batch (so a resend is dropped whole): this and the size bounds keep that batch under the broker's message size limit.",
  ),
  forwardIdleTimeoutMs: setting(
    'receiver.forwardIdleTimeoutMs',
    positiveInt,
    300_000,
    'Close a Forward connection that sent nothing for this long; a connection waiting for its acks or paused for backpressure is not idle.',
  ),
  httpBearerToken: setting(
    'receiver.httpBearerToken',
    z.string(),
    '',
    'When set, the HTTP input answers 401 to requests without "Authorization: Bearer <token>".',
  ),
  httpTls: setting(
    'receiver.httpTls',
    bool,
    false,
    "HTTP input over TLS (HTTPS, as Fluent Bit's `tls on`), with the receiver's TLS certificate and client-certificate settings.",
  ),
  httpMaxDecompressedBytes: setting(
    'receiver.httpMaxDecompressedBytes',
    positiveInt,
    16 * 1024 * 1024,
    'Largest HTTP body after Content-Encoding gzip or deflate is undone; past it inflation stops and the request gets 413.',
  ),
  httpIdleTimeoutMs: setting(
    'receiver.httpIdleTimeoutMs',
    positiveInt,
    30_000,
    'Close an HTTP connection that sent nothing for this long, before or between requests (keep-alive); a request waiting for the broker confirm is not idle.',
  ),
  httpMaxConnections: setting(
    'receiver.httpMaxConnections',
    positiveInt,
    1024,
    'Open HTTP input connections; a connection past it is closed at once and counted.',
  ),
  httpMaxConnectionsPerAddress: setting(
    'receiver.httpMaxConnectionsPerAddress',
    positiveInt,
    64,
    'Open HTTP input connections from one sender address; a connection past it is closed at once and counted.',
  ),
  forwardMaxConnections: setting(
    'receiver.forwardMaxConnections',
    positiveInt,
    1024,
    'Open Forward input connections; a connection past it is closed at once and counted.',
  ),
  forwardMaxConnectionsPerAddress: setting(
    'receiver.forwardMaxConnectionsPerAddress',
    positiveInt,
    64,
    'Open Forward input connections from one sender address; a connection past it is closed at once and counted.',
  ),
  proxyProtocol: setting(
    'receiver.proxyProtocol',
    z.enum(['off', 'v1', 'v2', 'any']),
    'off',
    "PROXY protocol header (HAProxy, cloud load balancers) required at the start of every connection of the inputs in receiver.proxyProtocolInputs: v1, v2, or any of the two; the sender it names becomes the event's source. A connection without a valid header is closed and counted. See docs/proxy-protocol.md.",
  ),
  proxyProtocolInputs: setting(
    'receiver.proxyProtocolInputs',
    z
      .union([
        z.array(z.string()),
        z.string().transform((v) =>
          v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        ),
      ])
      .pipe(z.array(z.enum(['syslog', 'forward', 'http'])).min(1)),
    ['syslog', 'forward', 'http'],
    'Inputs that expect the PROXY protocol header when receiver.proxyProtocol is on: syslog (TCP and TLS), forward, http.',
  ),
  proxyProtocolTimeoutMs: setting(
    'receiver.proxyProtocolTimeoutMs',
    positiveInt,
    5000,
    'A PROXY protocol header must be complete within this time of the TCP accept; else the connection is closed and counted.',
  ),

  workerId: setting('worker.id', receiverId, 'w1', 'Name of this dedup worker in logs and metrics.'),
  workerPrefetch: setting('worker.prefetch', positiveInt, 32, 'Batches a worker holds unacknowledged at once.'),
  dedupWindowSeconds: setting(
    'worker.dedupWindowSeconds',
    positiveInt,
    600,
    'How long copies of one event are matched; must exceed the longest delay between copies (spool replay).',
  ),
  dedupPartitions: setting(
    'worker.dedupPartitions',
    z.union([z.literal('auto'), z.coerce.number().int().min(1).max(16384)]),
    'auto',
    'Redis hash-tag partitions of the dedup keys (every worker must use the same): auto is 1 on one Redis or a Sentinel master and 16 on a Redis Cluster, where fewer than 3 is refused at start-up.',
  ),
  redisWaitReplicas: setting(
    'worker.redisWaitReplicas',
    nonNegativeInt,
    0,
    "After each batch's script, WAIT until this many replicas of the node that ran it hold the decisions, before publishing and acking; 0: no WAIT. See docs/redis.md.",
  ),
  redisWaitTimeoutMs: setting(
    'worker.redisWaitTimeoutMs',
    positiveInt,
    2000,
    'Longest a WAIT may block; fewer replicas than worker.redisWaitReplicas by then returns the batch to the queue (it is retried).',
  ),

  redisDownMode: setting(
    'worker.redisDownMode',
    z.enum(['hold', 'pass-through']),
    'hold',
    'While Redis is unreachable: hold (stop consuming; batches wait in RabbitMQ) or pass-through (publish every copy flagged dedup: skipped).',
  ),

  uploaderId: setting('uploader.id', receiverId, 'u1', 'Name of this uploader in logs and metrics.'),
  uploaderPrefetch: setting('uploader.prefetch', positiveInt, 64, 'Processed batches an uploader holds per sink.'),
  sinkMaxAttempts: setting(
    'uploader.sinkMaxAttempts',
    positiveInt,
    8,
    'Failed writes (exponential backoff with jitter between them) before a batch goes to the secondary.',
  ),
  secondaryDir: setting(
    'uploader.secondaryDir',
    z.string(),
    'data/secondary',
    'Secondary file sink (a subdirectory per sink) for batches a sink keeps refusing; empty: retry the sink forever.',
  ),
  unroutedSink: setting(
    'uploader.unroutedSink',
    z.string().regex(/^([a-z0-9_-]{1,32})?$/),
    '',
    "Name of a sink (in sinks) that takes the events no other sink's match, exclude and minSeverity take; empty: such events are counted (fanin_uploader_unrouted_events_total) and written nowhere. See docs/routing.md.",
  ),
} as const;

export { sinkTypes };
export const settings = { ...coreSettings, ...allSinkSettings() } as const;

export type Settings = typeof settings;
export type SettingName = keyof Settings;
export type Config = { readonly [K in SettingName]: Settings[K]['default'] };
