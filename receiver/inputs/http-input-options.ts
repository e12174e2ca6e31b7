import { ConfigError } from '../../shared/config/config-error.js';
import type { Config } from '../../shared/config/settings.js';
import type { HttpInputOptions } from './http-input.js';
import { proxyModeFor } from './proxy-setting.js';
import { loadTlsCredentials } from './tls-credentials.js';

/** The HTTP input's options from the receiver settings; refuses inconsistent ones, naming the keys. */
export function httpInputOptions(config: Config): HttpInputOptions {
  if (config.httpTls && config.tlsCertFile === '') {
    throw new ConfigError([
      "receiver.httpTls: needs receiver.tlsCertFile and receiver.tlsKeyFile (the HTTP input uses the receiver's TLS certificate)",
    ]);
  }
  const tls = config.httpTls
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
    port: config.httpPort,
    receiverId: config.receiverId,
    maxBodyBytes: config.httpMaxBodyBytes,
    maxDecompressedBytes: config.httpMaxDecompressedBytes,
    bearerToken: config.httpBearerToken,
    tls,
    idleTimeoutMs: config.httpIdleTimeoutMs,
    maxConnections: config.httpMaxConnections,
    maxConnectionsPerAddress: config.httpMaxConnectionsPerAddress,
    proxyProtocol: proxyModeFor(config, 'http'),
    proxyHeaderTimeoutMs: config.proxyProtocolTimeoutMs,
  };
}
