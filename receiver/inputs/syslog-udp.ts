import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeSyslogFrame, stripTrailingTerminators } from '../syslog-event.js';

export interface SyslogUdpOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxFrameBytes: number;
  readonly hashSourceAddress: boolean;
}

/** One datagram is one message (RFC 5426). UDP cannot be paused, so anything refused is dropped and counted. */
export async function startSyslogUdp(
  options: SyslogUdpOptions, intake: Intake, metrics: ReceiverMetrics, log: Logger,
): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4', reuseAddr: false });
  const received = metrics.eventsReceived.labels('syslog', 'udp');
  socket.on('message', (datagram, rinfo) => {
    if (datagram.length > options.maxFrameBytes) { metrics.udpDrops.inc({ reason: 'oversize' }); return; }
    if (!intake.canAccept) { metrics.udpDrops.inc({ reason: 'buffer_full' }); return; }
    const frame = stripTrailingTerminators(datagram);
    if (frame.length === 0) return;
    const event = encodeSyslogFrame(frame, {
      receiverId: options.receiverId, source: normalizeAddress(rinfo.address), transport: 'udp',
      hashSourceAddress: options.hashSourceAddress,
    }, new Date());
    if (!event.parsed) metrics.parseErrors.inc({ protocol: 'syslog', code: event.parseErrorCode ?? 'UNKNOWN' });
    received.inc();
    intake.submit(event.key, event.body);
  });
  socket.on('error', (err) => log.error({ err: err.message }, 'syslog UDP socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => { socket.off('error', reject); resolve(); });
  });
  return socket;
}
