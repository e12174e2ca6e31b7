import type { Socket } from 'node:dgram';
import type { Config } from '../../shared/config/settings.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { ConnectionLimiter } from './connection-limiter.js';
import { startSyslogTcp, type SyslogStreamServer } from './syslog-tcp.js';
import { startSyslogTls } from './syslog-tls.js';
import { startSyslogUdp } from './syslog-udp.js';
import { loadTlsCredentials } from './tls-credentials.js';
import { proxyModeFor } from './proxy-setting.js';

export interface SyslogInputs {
  /** Stops UDP at once and drains the stream listeners (bounded). */
  close(): Promise<void>;
}

/**
 * Every syslog listener of a receiver: UDP and TCP on receiver.syslogPort, TLS on receiver.syslogTlsPort. TCP and
 * TLS share one connection limiter, so receiver.maxConnections bounds them together.
 */
export async function startSyslogInputs(
  config: Config,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): Promise<SyslogInputs> {
  const common = {
    host: config.listenHost,
    receiverId: config.receiverId,
    maxFrameBytes: config.maxFrameBytes,
    hashSourceAddress: config.hashSourceAddress,
    idleTimeoutMs: config.idleTimeoutMs,
    rfc3164TimeZone: config.rfc3164TimeZone,
    proxyProtocol: proxyModeFor(config, 'syslog'),
    proxyHeaderTimeoutMs: config.proxyProtocolTimeoutMs,
    keepRaw: config.syslogKeepRaw,
  };
  const tlsWanted = config.syslogTlsPort > 0 && config.tlsCertFile !== '';
  // Before anything binds: a TLS misconfiguration stops the receiver with the setting named.
  const credentials = tlsWanted
    ? loadTlsCredentials({
        certFile: config.tlsCertFile,
        keyFile: config.tlsKeyFile,
        caFile: config.tlsCaFile,
        requireClientCert: config.tlsRequireClientCert,
      })
    : null;
  const limiter = new ConnectionLimiter(config.maxConnections, config.maxConnectionsPerAddress);
  let udp: Socket | null = null;
  const streams: SyslogStreamServer[] = [];
  if (config.syslogPort > 0) {
    udp = await startSyslogUdp(
      { ...common, port: config.syslogPort, receiveBufferBytes: config.udpReceiveBufferBytes },
      intake,
      metrics,
      log,
    );
    streams.push(await startSyslogTcp({ ...common, port: config.syslogPort }, limiter, intake, metrics, log));
  }
  if (credentials !== null) {
    streams.push(
      await startSyslogTls(
        {
          ...common,
          port: config.syslogTlsPort,
          requireClientCert: config.tlsRequireClientCert,
          handshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
        },
        credentials,
        limiter,
        intake,
        metrics,
        log,
      ),
    );
  } else if (config.syslogTlsPort > 0) {
    log.warn(
      { port: config.syslogTlsPort },
      'syslog TLS not started: no certificate configured (set receiver.tlsCertFile and receiver.tlsKeyFile, or receiver.syslogTlsPort=0 to silence this)',
    );
  }
  return {
    close: async () => {
      udp?.close();
      await Promise.all(streams.map((s) => s.close()));
    },
  };
}
