import { ConfigError } from '../../shared/config/config-error.js';
import type { Config } from '../../shared/config/settings.js';
import type { Logger } from '../../shared/logger.js';
import type { Registry } from 'prom-client';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { createForwardMetrics } from './forward-metrics.js';
import { startForwardServer, type ForwardServer, type ForwardServerOptions } from './forward-server.js';
import { parseForwardUsers } from './handshake.js';
import { loadTlsCredentials } from '../inputs/tls-credentials.js';
import { proxyModeFor } from '../inputs/proxy-setting.js';

/** Deepest msgpack nesting taken from a sender: records stay encodable in the envelope (the encoder stops at 100). */
export const FORWARD_MAX_DEPTH = 64;

/** The Forward input's options from the receiver settings; refuses inconsistent ones, naming the keys. */
export function forwardServerOptions(config: Config): ForwardServerOptions {
  let users: Map<string, string>;
  try {
    users = parseForwardUsers(config.forwardUsers);
  } catch (err) {
    throw new ConfigError([`receiver.forwardUsers: ${(err as Error).message}`]);
  }
  if (users.size > 0 && config.forwardSharedKey === '') {
    throw new ConfigError([
      'receiver.forwardUsers: user authentication needs receiver.forwardSharedKey (the handshake carries it)',
    ]);
  }
  if (config.forwardTls && config.tlsCertFile === '') {
    throw new ConfigError([
      "receiver.forwardTls: needs receiver.tlsCertFile and receiver.tlsKeyFile (the Forward listener uses the receiver's TLS certificate)",
    ]);
  }
  const tls = config.forwardTls
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
    port: config.forwardPort,
    tls,
    receiverId: config.receiverId,
    limits: {
      maxFrameBytes: config.forwardMaxChunkBytes,
      maxDecompressedBytes: config.forwardMaxDecompressedBytes,
      maxEvents: config.forwardMaxChunkEvents,
      maxDepth: FORWARD_MAX_DEPTH,
    },
    handshake:
      config.forwardSharedKey === ''
        ? null
        : {
            sharedKey: config.forwardSharedKey,
            users,
            selfHostname: `fanin-${config.receiverId}`,
          },
    idleTimeoutMs: config.forwardIdleTimeoutMs,
    maxConnections: config.forwardMaxConnections,
    maxConnectionsPerAddress: config.forwardMaxConnectionsPerAddress,
    proxyProtocol: proxyModeFor(config, 'forward'),
    proxyHeaderTimeoutMs: config.proxyProtocolTimeoutMs,
    closeGraceMs: Math.max(1000, Math.floor(config.drainTimeoutMs / 3)),
    replication:
      config.fleetId === ''
        ? null
        : { fleetId: config.fleetId, idKey: config.fleetIdKey, pathKey: config.fleetPathKey },
  };
}

/** Starts the Forward input when its port is set (0 disables it): returns null when disabled. */
export async function startForwardInput(
  config: Config,
  intake: Intake,
  registry: Registry,
  receiverMetrics: ReceiverMetrics,
  log: Logger,
): Promise<ForwardServer | null> {
  if (config.forwardPort === 0) return null;
  const options = forwardServerOptions(config);
  const server = await startForwardServer(options, intake, createForwardMetrics(registry), receiverMetrics, log);
  log.info(
    {
      port: server.port,
      tls: options.tls !== null,
      handshake: options.handshake !== null,
      users: options.handshake?.users.size ?? 0,
    },
    'forward input listening (TCP, UDP heartbeat)',
  );
  return server;
}
