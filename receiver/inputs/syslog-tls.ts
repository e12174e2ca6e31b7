import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import type { ConnectionLimiter } from './connection-limiter.js';
import { createSyslogStreamHandler } from './syslog-connection.js';
import type { SyslogStreamServer, SyslogTcpOptions } from './syslog-tcp.js';
import { StreamListener } from './stream-listener.js';
import { ThrottledWarning } from './throttled-warning.js';
import type { TlsCredentials } from './tls-credentials.js';

export interface SyslogTlsOptions extends SyslogTcpOptions {
  readonly requireClientCert: boolean;
  readonly handshakeTimeoutMs: number;
}

type HandshakeFailure = 'timeout' | 'client_certificate' | 'aborted' | 'protocol';

/**
 * Syslog over TLS (RFC 5425): the TCP input's framing, decoder and backpressure behind a TLS handshake. The TCP
 * listener admits the connection under the shared limits first, then hands it to a tls.Server that never listens
 * itself; the stream starts once the handshake is done and, with mutual TLS, the client certificate verified.
 */
export async function startSyslogTls(
  options: SyslogTlsOptions,
  credentials: TlsCredentials,
  limiter: ConnectionLimiter,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): Promise<SyslogStreamServer> {
  if (credentials.validTo.getTime() < Date.now()) {
    log.warn(
      { subject: credentials.subject, validTo: credentials.validTo },
      'the syslog TLS certificate has expired; senders that verify it will refuse',
    );
  }
  const tlsServer = createTlsServer({
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    minVersion: 'TLSv1.2',
    requestCert: options.requireClientCert,
    // Verified below, so that a refused client is counted and logged like every other handshake failure.
    rejectUnauthorized: false,
    // Node's timer runs from the accept and is not reset by handshake bytes, so a trickling client is cut too.
    handshakeTimeout: options.handshakeTimeoutMs,
  });
  const failed = new ThrottledWarning(log, 'syslog TLS handshake failed');
  const fail = (socket: TLSSocket, reason: HandshakeFailure, detail: string) => {
    metrics.tlsHandshakeFailures.inc({ reason });
    failed.warn({ source: normalizeAddress(socket.remoteAddress), reason, err: detail });
    socket.destroy();
  };
  tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    // The socket stays open unless we destroy it (tested: a timed-out handshake would hold its connection slot).
    fail(socket, classifyHandshakeError(err), err.message);
  });
  tlsServer.on('secureConnection', (socket: TLSSocket) => {
    listener.gate.adopt(socket);
    if (options.requireClientCert && !socket.authorized) {
      const peer = socket.getPeerCertificate();
      const detail =
        peer && Object.keys(peer).length > 0
          ? `client certificate refused: ${String(socket.authorizationError)}`
          : 'no client certificate';
      fail(socket, 'client_certificate', detail);
      return;
    }
    listener.startStream(socket);
  });

  const handle = createSyslogStreamHandler({ ...options, transport: 'tls' }, intake, metrics, log);
  const listener: StreamListener = new StreamListener(
    {
      host: options.host,
      port: options.port,
      transport: 'tls',
      proxyProtocol: options.proxyProtocol,
      proxyHeaderTimeoutMs: options.proxyHeaderTimeoutMs,
    },
    limiter,
    (raw) => tlsServer.emit('connection', raw),
    handle,
    intake,
    metrics,
    log,
  );
  const address = await listener.listen();
  log.info(
    {
      port: address.port,
      subject: credentials.subject,
      validTo: credentials.validTo,
      mutualTls: options.requireClientCert,
    },
    'syslog TLS listening',
  );
  return { address, close: () => listener.close() };
}

function classifyHandshakeError(err: NodeJS.ErrnoException): HandshakeFailure {
  if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'aborted';
  if (/certificate/i.test(err.message)) return 'client_certificate';
  return 'protocol';
}
