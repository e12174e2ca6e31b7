import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { ConnectionGate } from '../inputs/connection-gate.js';
import { ConnectionLimiter } from '../inputs/connection-limiter.js';
import type { ProxyMode } from '../inputs/proxy-protocol.js';
import type { TlsCredentials } from '../inputs/tls-credentials.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { ForwardConnection, type ForwardConnectionConfig } from './forward-connection.js';
import type { ForwardMetrics } from './forward-metrics.js';

export interface ForwardServerOptions extends ForwardConnectionConfig {
  readonly host: string;
  /** TCP and UDP port; 0 picks a free one (tests). */
  readonly port: number;
  /** When set, the TCP listener speaks TLS (in_forward's `<transport tls>`); the UDP heartbeat stays plain. */
  readonly tls?: {
    readonly credentials: TlsCredentials;
    readonly requireClientCert: boolean;
    readonly handshakeTimeoutMs: number;
  } | null;
  /** Open connections in total and from one sender address (absent: unlimited, for tests of other concerns). */
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  /** PROXY protocol header expected on every connection; null or absent: off. */
  readonly proxyProtocol?: ProxyMode | null;
  readonly proxyHeaderTimeoutMs?: number;
}

export interface ForwardServer {
  readonly server: Server;
  /** The port listened on (TCP and the UDP heartbeat). */
  readonly port: number;
  /** Stops accepting and reading; waits (bounded) for every connection's pending acks, then closes. */
  close(): Promise<void>;
}

/** Largest UDP heartbeat datagram answered; anything bigger is not a heartbeat. */
const MAX_HEARTBEAT_BYTES = 1024;
/** in_forward answers a UDP heartbeat with one byte 0x00, to the sender's address and port. */
const HEARTBEAT_REPLY = Buffer.from([0]);

/**
 * The Forward input (fluentd in_forward compatible): TCP for events, and UDP heartbeats answered on the same port,
 * as out_forward's `heartbeat_type udp` expects.
 */
export async function startForwardServer(
  options: ForwardServerOptions,
  intake: Intake,
  metrics: ForwardMetrics,
  receiverMetrics: ReceiverMetrics,
  log: Logger,
): Promise<ForwardServer> {
  const connections = new Set<ForwardConnection>();
  const deps = { intake, metrics, receiverMetrics, log };

  const onConnection = (socket: Socket) => {
    const conn = new ForwardConnection(socket, options, deps);
    connections.add(conn);
    // Also resumes a socket handed over paused after its PROXY header.
    conn.setPressure(intake.paused);
    void conn.closed.then(() => connections.delete(conn));
  };
  const tls = options.tls;
  const tlsServer = tls
    ? createTlsServer(
        {
          allowHalfOpen: true,
          cert: tls.credentials.cert,
          key: tls.credentials.key,
          ca: tls.credentials.ca,
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
          handshakeTimeout: tls.handshakeTimeoutMs,
        },
        (socket) => {
          gate.adopt(socket);
          onConnection(socket);
        },
      )
    : null;
  // A failed handshake leaves the raw socket open until destroyed: close it, or it holds its slot (counted).
  tlsServer?.on('tlsClientError', (err: Error, socket: Socket) => {
    metrics.errors.inc({ reason: 'tls_handshake_failed' });
    log.debug({ err: err.message }, 'forward TLS handshake failed');
    socket.destroy();
  });
  // The listener is plain TCP: each connection passes the gate (limits, PROXY header) before TLS or Forward sees it.
  const limiter = new ConnectionLimiter(
    options.maxConnections ?? Infinity,
    options.maxConnectionsPerAddress ?? Infinity,
  );
  const gate = new ConnectionGate(
    {
      transport: 'forward',
      proxyProtocol: options.proxyProtocol ?? null,
      proxyHeaderTimeoutMs: options.proxyHeaderTimeoutMs ?? 5000,
    },
    limiter,
    receiverMetrics,
    log,
  );
  const server: Server = createServer({ allowHalfOpen: true }, (raw) =>
    gate.accept(raw, (admitted) => {
      if (tlsServer) tlsServer.emit('connection', admitted);
      else onConnection(admitted);
    }),
  );
  intake.onPressure((paused) => {
    for (const c of connections) c.setPressure(paused);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const udp: UdpSocket = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });
  udp.on('message', (datagram, rinfo) => {
    if (datagram.length > MAX_HEARTBEAT_BYTES) return;
    metrics.heartbeats.inc();
    // The reply is never larger than the request: no amplification.
    udp.send(HEARTBEAT_REPLY, rinfo.port, rinfo.address, (err) => {
      if (err) log.debug({ err: err.message }, 'heartbeat reply failed');
    });
  });
  udp.on('error', (err) => log.error({ err: err.message }, 'forward UDP heartbeat socket error'));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, options.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });

  return {
    server,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      udp.close();
      for (const c of connections) c.closeAfterAcks();
      await closed;
    },
  };
}
