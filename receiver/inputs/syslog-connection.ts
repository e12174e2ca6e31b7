import type { Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeSyslogFrame } from '../syslog-event.js';
import type { DecodeResult } from '../../shared/errors/decode-result.js';
import { type FrameTooLargeError, SyslogFrameDecoder } from '../syslog/frame-decoder.js';
import { ThrottledWarning } from './throttled-warning.js';

export interface SyslogStreamConfig {
  readonly transport: 'tcp' | 'tls';
  readonly receiverId: string;
  readonly maxFrameBytes: number;
  readonly hashSourceAddress: boolean;
  /** 0: never close for idleness. */
  readonly idleTimeoutMs: number;
  /** Zone of RFC 3164 stamps without one (see SyslogContext); undefined: UTC. */
  readonly rfc3164TimeZone?: string;
  /** Keep each frame's bytes in its body (SyslogContext.keepRaw). */
  readonly keepRaw?: boolean;
}

/**
 * One syslog stream connection, the same over TCP and TLS (a TLSSocket is handed over after its handshake): RFC 6587
 * framing, each frame to an event, idle timeout, and a framing error closing the connection. Pausing for backpressure
 * is the listener's job (it holds every stream); a paused connection is never closed as idle.
 */
export function createSyslogStreamHandler(
  config: SyslogStreamConfig,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): (socket: Socket) => void {
  const { transport } = config;
  const received = metrics.eventsReceived.labels('syslog', transport);
  const idleTimeouts = metrics.idleTimeouts.labels(transport);
  const tooLarge = metrics.framesRejected.labels(transport, 'frame_too_large');
  const digitsNotLength = metrics.framesMsgLenFallback.labels(transport);
  const countDigitsNotLength = () => digitsNotLength.inc();
  const frameWarning = new ThrottledWarning(log, `closing syslog ${transport} connection: bad framing`);

  return (socket: Socket) => {
    const source = normalizeAddress(socket.remoteAddress);
    const eventContext = {
      receiverId: config.receiverId,
      source,
      transport,
      hashSourceAddress: config.hashSourceAddress,
      rfc3164TimeZone: config.rfc3164TimeZone,
      keepRaw: config.keepRaw,
    } as const;
    const decoder = new SyslogFrameDecoder({
      maxFrameBytes: config.maxFrameBytes,
      onDigitsNotLength: countDigitsNotLength,
    });
    // Counted once per read, not per frame: a metric call per event showed in the receiver's profile.
    const take = (frame: Buffer, now: Date) => {
      const event = encodeSyslogFrame(frame, eventContext, now);
      if (!event.parsed) metrics.parseErrors.inc({ protocol: 'syslog', code: event.parseErrorCode ?? 'UNKNOWN' });
      intake.submit(event.key, event.body, event.route);
    };
    const takeAll = (frames: readonly Buffer[]) => {
      if (frames.length === 0) return;
      const now = new Date(); // one receipt time per read: the frames of one read arrived together
      for (const frame of frames) take(frame, now);
      received.inc(frames.length);
    };

    socket.on('data', (chunk: Buffer) => {
      let result: DecodeResult<FrameTooLargeError>;
      try {
        result = decoder.push(chunk);
      } catch (err) {
        // A decoder bug (it reports bad input as `error`, never by throwing) costs this connection, not the process.
        metrics.framesRejected.inc({ transport, reason: 'unknown' });
        frameWarning.warn({ source, reason: 'unknown', err: (err as Error).message });
        socket.destroy();
        return;
      }
      const { frames, error } = result;
      takeAll(frames);
      if (error !== null) {
        // Disposition close: past an oversized frame the stream has no frame boundary to resume at, and destroy()
        // discards what the socket still holds, so a declared 999999999-byte body is never read.
        tooLarge.inc();
        frameWarning.warn({ source, reason: 'frame_too_large', err: error.message });
        socket.destroy();
      }
    });
    socket.on('end', () => {
      const last = decoder.end();
      if (last) takeAll([last]);
      socket.end();
    });

    if (config.idleTimeoutMs > 0) {
      socket.setTimeout(config.idleTimeoutMs);
      socket.on('timeout', () => {
        // Paused by us, not idle: the sender may be waiting on TCP flow control. Look again a period later.
        if (socket.isPaused()) {
          socket.setTimeout(config.idleTimeoutMs);
          return;
        }
        idleTimeouts.inc();
        log.debug({ source, transport, idleTimeoutMs: config.idleTimeoutMs }, 'closing idle syslog connection');
        socket.destroy();
      });
    }
    socket.on('error', (err) => log.debug({ source, transport, err: err.message }, 'syslog connection error'));
  };
}
