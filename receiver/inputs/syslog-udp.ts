import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { settings } from '../../shared/config/settings.js';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeSyslogFrame, stripTrailingTerminators } from '../syslog-event.js';
import { udpSocketCounterReader } from './udp-kernel-stats.js';

export interface SyslogUdpOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxFrameBytes: number;
  readonly hashSourceAddress: boolean;
  /** SO_RCVBUF to request; 0 keeps the kernel default. */
  readonly receiveBufferBytes: number;
  /** Zone of RFC 3164 stamps without one (see SyslogContext); undefined: UTC. */
  readonly rfc3164TimeZone?: string;
  /** Keep each datagram's bytes in its body (SyslogContext.keepRaw). */
  readonly keepRaw?: boolean;
}

/**
 * One datagram is one message (RFC 5426). UDP cannot be paused, so anything refused is dropped and counted: by us
 * (oversize, memory bound, empty) in fanin_receiver_udp_drops_total, by the kernel (receive buffer full while the event loop
 * was busy) in fanin_receiver_udp_kernel_drops_total.
 */
export async function startSyslogUdp(
  options: SyslogUdpOptions,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): Promise<Socket> {
  const socket = createSocket({
    type: isIPv6(options.host) ? 'udp6' : 'udp4',
    reuseAddr: false,
    ...(options.receiveBufferBytes > 0 ? { recvBufferSize: options.receiveBufferBytes } : {}),
  });
  // Datagrams come one callback each, and a prom-client increment costs about as much as keying the datagram:
  // the count of one event-loop turn is added at its end, before any scrape can run.
  const received = metrics.eventsReceived.labels('syslog', 'udp');
  let receivedThisTurn = 0;
  const addReceived = () => {
    received.inc(receivedThisTurn);
    receivedThisTurn = 0;
  };
  socket.on('message', (datagram, rinfo) => {
    if (datagram.length > options.maxFrameBytes) {
      metrics.udpDrops.inc({ reason: 'oversize' });
      return;
    }
    if (!intake.canAccept) {
      metrics.udpDrops.inc({ reason: 'buffer_full' });
      return;
    }
    const frame = stripTrailingTerminators(datagram);
    // Nothing but terminators: no message to keep, but the datagram is accounted for like every other.
    if (frame.length === 0) {
      metrics.udpDrops.inc({ reason: 'empty' });
      return;
    }
    const event = encodeSyslogFrame(
      frame,
      {
        receiverId: options.receiverId,
        source: normalizeAddress(rinfo.address),
        transport: 'udp',
        hashSourceAddress: options.hashSourceAddress,
        rfc3164TimeZone: options.rfc3164TimeZone,
        keepRaw: options.keepRaw,
      },
      new Date(),
    );
    if (!event.parsed) metrics.parseErrors.inc({ protocol: 'syslog', code: event.parseErrorCode ?? 'UNKNOWN' });
    if (receivedThisTurn++ === 0) setImmediate(addReceived);
    intake.submit(event.key, event.body, event.route);
  });
  socket.on('error', (err) => log.error({ err: err.message }, 'syslog UDP socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });

  // Linux reports twice the requested size (the doubled value includes its bookkeeping) and silently caps the request
  // at net.core.rmem_max, so the effective size is worth a log line of its own.
  const effective = socket.getRecvBufferSize();
  metrics.udpReceiveBuffer.set(effective);
  const fields = { requested: options.receiveBufferBytes, effective };
  if (options.receiveBufferBytes > 0 && effective < options.receiveBufferBytes) {
    // A warning when the operator asked for the size; the default's shortfall is only worth an info line.
    const level = options.receiveBufferBytes === settings.udpReceiveBufferBytes.default ? 'info' : 'warn';
    log[level](
      fields,
      'syslog UDP receive buffer is smaller than requested: the kernel caps it at net.core.rmem_max (raise it with sysctl)',
    );
  } else {
    log.info(fields, 'syslog UDP receive buffer');
  }

  const reader = udpSocketCounterReader(socket.address().port);
  if (reader) metrics.udpKernel.read = reader;
  else
    log.info(
      'kernel UDP drop counts unavailable (no /proc/net/udp entry for the socket): fanin_receiver_udp_kernel_drops_total stays 0',
    );
  return socket;
}
