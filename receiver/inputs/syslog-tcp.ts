import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import type { ConnectionLimiter } from './connection-limiter.js';
import type { ProxyMode } from './proxy-protocol.js';
import { createSyslogStreamHandler } from './syslog-connection.js';
import { StreamListener } from './stream-listener.js';

export interface SyslogTcpOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxFrameBytes: number;
  readonly hashSourceAddress: boolean;
  readonly idleTimeoutMs: number;
  readonly rfc3164TimeZone?: string;
  /** null: no PROXY protocol header expected. */
  readonly proxyProtocol: ProxyMode | null;
  readonly proxyHeaderTimeoutMs: number;
  /** Keep each frame's bytes in its body (SyslogContext.keepRaw). */
  readonly keepRaw?: boolean;
}

export interface SyslogStreamServer {
  readonly address: AddressInfo;
  /** Stops accepting, ends every connection after its buffered frames are taken in (bounded). */
  close(): Promise<void>;
}

/**
 * Syslog over TCP (RFC 6587): octet counting or newline framing, detected per frame by the decoder. While the
 * publisher is under pressure every socket is paused, so TCP's own flow control pushes back to the sender.
 */
export async function startSyslogTcp(
  options: SyslogTcpOptions,
  limiter: ConnectionLimiter,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): Promise<SyslogStreamServer> {
  const handle = createSyslogStreamHandler({ ...options, transport: 'tcp' }, intake, metrics, log);
  const listener: StreamListener = new StreamListener(
    {
      host: options.host,
      port: options.port,
      transport: 'tcp',
      proxyProtocol: options.proxyProtocol,
      proxyHeaderTimeoutMs: options.proxyHeaderTimeoutMs,
    },
    limiter,
    (raw) => listener.startStream(raw),
    handle,
    intake,
    metrics,
    log,
  );
  const address = await listener.listen();
  return { address, close: () => listener.close() };
}
