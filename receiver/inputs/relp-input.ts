import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../shared/config/config-error.js';
import type { Config } from '../../shared/config/settings.js';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { ConnectionLimiter } from './connection-limiter.js';
import { RelpConnection, type RelpConnectionConfig } from './relp-connection.js';
import { createRelpMetrics, type RelpMetrics } from './relp-metrics.js';
import { ThrottledWarning } from './throttled-warning.js';
import { loadTlsCredentials, type TlsCredentials } from './tls-credentials.js';

export interface RelpInputOptions extends RelpConnectionConfig {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** When set, the listener speaks TLS from the first byte, as omrelp's tls="on" expects. */
  readonly tls: {
    readonly credentials: TlsCredentials;
    readonly requireClientCert: boolean;
    readonly handshakeTimeoutMs: number;
  } | null;
}

export interface RelpInput {
  readonly port: number;
  /** Stops accepting; every session writes its confirmed acks, sends serverclose and ends (bounded). */
  close(): Promise<void>;
}

/**
 * A client window of librelp is 128 frames by default (omrelp's windowSize); twice the largest window anyone sets is
 * plenty, and bounds what a client that ignores its window can make a connection hold.
 */
const MAX_UNACKED_PER_CONNECTION = 4096;

/** The RELP input's options from the receiver settings; refuses inconsistent ones, naming the keys. */
export function relpInputOptions(config: Config): RelpInputOptions {
  if (config.relpTls && config.tlsCertFile === '') {
    throw new ConfigError([
      "receiver.relpTls: needs receiver.tlsCertFile and receiver.tlsKeyFile (the RELP listener uses the receiver's TLS certificate)",
    ]);
  }
  const tls = config.relpTls
    ? {
        credentials: loadTlsCredentials({
          certFile: config.tlsCertFile,
          keyFile: config.tlsKeyFile,
          caFile: config.tlsCaFile,
          requireClientCert: config.tlsRequireClientCert,
        }),
        requireClientCert: config.tlsRequireClientCert,
        handshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
      }
    : null;
  return {
    host: config.listenHost,
    port: config.relpPort,
    tls,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    receiverId: config.receiverId,
    maxDataBytes: config.maxFrameBytes,
    hashSourceAddress: config.hashSourceAddress,
    rfc3164TimeZone: config.rfc3164TimeZone,
    keepRaw: config.syslogKeepRaw,
    idleTimeoutMs: config.idleTimeoutMs,
    closeGraceMs: Math.max(1000, Math.floor(config.drainTimeoutMs / 3)),
    maxUnacked: MAX_UNACKED_PER_CONNECTION,
    software: 'fanin',
  };
}

/** Starts the RELP input when receiver.relpPort is set (0, the default, disables it): null when disabled. */
export async function startRelpInput(
  config: Config,
  intake: Intake,
  registry: Registry,
  receiverMetrics: ReceiverMetrics,
  log: Logger,
): Promise<RelpInput | null> {
  if (config.relpPort === 0) return null;
  const options = relpInputOptions(config);
  const input = await startRelpListener(options, intake, createRelpMetrics(registry), receiverMetrics, log);
  log.info({ port: input.port, tls: options.tls !== null }, 'relp input listening');
  return input;
}

/**
 * The RELP listener (omrelp's peer, what rsyslog's imrelp is): admits each connection under its own connection limits
 * (receiver.maxConnections and receiver.maxConnectionsPerAddress, counted apart from the syslog inputs'), with TLS
 * behind the admission as the syslog TLS input does, and pauses every session while the publisher is under pressure.
 */
export async function startRelpListener(
  options: RelpInputOptions,
  intake: Intake,
  metrics: RelpMetrics,
  receiverMetrics: ReceiverMetrics,
  log: Logger,
): Promise<RelpInput> {
  const sessions = new Set<RelpConnection>();
  const open = receiverMetrics.connections.labels('relp');
  const accepted = receiverMetrics.connectionsAccepted.labels('relp');
  receiverMetrics.connections.set({ transport: 'relp' }, 0);
  receiverMetrics.eventsReceived.inc({ protocol: 'syslog', transport: 'relp' }, 0);
  const limiter = new ConnectionLimiter(options.maxConnections, options.maxConnectionsPerAddress);
  const refusalWarning = new ThrottledWarning(log, 'refusing relp connections: connection limit reached');
  const deps = { intake, metrics, receiverMetrics, log, warning: new ThrottledWarning(log, 'closing relp session') };

  const startSession = (stream: Socket) => {
    const session = new RelpConnection(stream, options, deps);
    sessions.add(session);
    if (intake.paused) session.setPressure(true);
    void session.closed.then(() => sessions.delete(session));
  };
  const tls = options.tls;
  const tlsServer = tls
    ? createTlsServer(
        {
          allowHalfOpen: true,
          cert: tls.credentials.cert,
          key: tls.credentials.key,
          ca: tls.credentials.ca,
          minVersion: 'TLSv1.2',
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
          handshakeTimeout: tls.handshakeTimeoutMs,
        },
        (socket: TLSSocket) => startSession(socket),
      )
    : null;
  // A failed handshake leaves the raw socket open until destroyed: close it, or it holds its slot (counted).
  tlsServer?.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    metrics.errors.inc({ reason: 'tls_handshake_failed' });
    deps.warning.warn({
      source: normalizeAddress(socket.remoteAddress),
      code: 'TLS_HANDSHAKE_FAILED',
      err: err.message,
    });
    socket.destroy();
  });

  const raws = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (raw) => {
    const address = normalizeAddress(raw.remoteAddress) ?? 'unknown';
    const refusal = limiter.acquire(address);
    if (refusal !== null) {
      receiverMetrics.connectionsRefused.inc({ transport: 'relp', reason: refusal });
      refusalWarning.warn({ source: address, reason: refusal, open: limiter.open });
      raw.on('error', () => undefined);
      raw.destroy();
      return;
    }
    accepted.inc();
    open.inc();
    raws.add(raw);
    raw.once('close', () => {
      raws.delete(raw);
      limiter.release(address);
      open.dec();
    });
    // A sender host that rebooted never says goodbye: keepalive probes find such dead peers and free their slot.
    raw.setKeepAlive(true, 60_000);
    if (tlsServer) tlsServer.emit('connection', raw);
    else startSession(raw);
  });
  intake.onPressure((paused) => {
    for (const s of sessions) s.setPressure(paused);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.closeAfterAcks();
      // Each session bounds its own close; this catches sockets still in a TLS handshake (nothing of theirs was taken).
      const deadline = setTimeout(() => {
        for (const raw of raws) raw.destroy();
      }, options.closeGraceMs + 1500);
      await closed;
      clearTimeout(deadline);
    },
  };
}
