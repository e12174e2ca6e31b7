import { createServer, type Server, type Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeSyslogFrame } from '../syslog-event.js';
import { FrameSyntaxError, FrameTooLargeError, SyslogFrameDecoder } from '../syslog/frame-decoder.js';

export interface SyslogTcpOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxFrameBytes: number;
  readonly hashSourceAddress: boolean;
}

export interface SyslogTcpServer {
  readonly server: Server;
  /** Stops accepting, ends every connection after its buffered frames are taken in. */
  close(): Promise<void>;
}

/**
 * Syslog over TCP (RFC 6587): octet counting or newline framing, detected per frame by the decoder. While the
 * publisher is under pressure every socket is paused, so TCP's own flow control pushes back to the sender.
 */
export async function startSyslogTcp(
  options: SyslogTcpOptions, intake: Intake, metrics: ReceiverMetrics, log: Logger,
): Promise<SyslogTcpServer> {
  const sockets = new Set<Socket>();
  const received = metrics.eventsReceived.labels('syslog', 'tcp');
  const connections = metrics.connections.labels('tcp');

  const takeFrame = (frame: Buffer, source: string | null) => {
    const event = encodeSyslogFrame(frame, {
      receiverId: options.receiverId, source, transport: 'tcp', hashSourceAddress: options.hashSourceAddress,
    }, new Date());
    if (!event.parsed) metrics.parseErrors.inc({ protocol: 'syslog', code: event.parseErrorCode ?? 'UNKNOWN' });
    received.inc();
    intake.submit(event.key, event.body);
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    connections.inc();
    if (intake.paused) socket.pause();
    const source = normalizeAddress(socket.remoteAddress);
    const decoder = new SyslogFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        const reason = err instanceof FrameTooLargeError ? 'frame_too_large' : err instanceof FrameSyntaxError ? 'frame_syntax' : 'unknown';
        metrics.framesRejected.inc({ transport: 'tcp', reason });
        log.warn({ source, reason, err: (err as Error).message }, 'closing syslog TCP connection');
        socket.destroy();
        return;
      }
      for (const frame of frames) takeFrame(frame, source);
    });
    socket.on('end', () => {
      const last = decoder.end();
      if (last) takeFrame(last, source);
      socket.end();
    });
    socket.on('error', (err) => log.debug({ source, err: err.message }, 'syslog TCP connection error'));
    socket.on('close', () => { sockets.delete(socket); connections.dec(); });
  });

  intake.onPressure((paused) => {
    for (const s of sockets) if (paused) s.pause(); else s.resume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve(); });
  });

  return {
    server,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Half-close: the peer sees EOF, data already in our socket buffers is still read and submitted.
      for (const s of sockets) { s.resume(); s.end(); }
      const deadline = setTimeout(() => { for (const s of sockets) s.destroy(); }, 2000);
      await closed;
      clearTimeout(deadline);
    },
  };
}
