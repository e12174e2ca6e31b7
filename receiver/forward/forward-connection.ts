import type { Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import {
  createPartDecoder,
  decodeForwardFrame,
  decodeInflated,
  encodeAck,
  type ForwardEvents,
  type ForwardLimits,
} from './forward-decoder.js';
import { ForwardError } from './forward-errors.js';
import { encodeForwardEntries, forwardChunkKey } from './forward-event.js';
import type { ReplicationConfig } from './replica.js';
import { gunzipMembers } from './forward-gzip.js';
import type { ForwardMetrics } from './forward-metrics.js';
import { ServerHandshake, type HandshakeConfig } from './handshake.js';
import { MsgpackFrameScanner } from './msgpack-scanner.js';

export interface ForwardConnectionConfig {
  readonly receiverId: string;
  readonly limits: ForwardLimits;
  /** null: no handshake (no shared key configured). */
  readonly handshake: HandshakeConfig | null;
  readonly idleTimeoutMs: number;
  /** How long a closing connection may wait for its pending acks before it is cut. */
  readonly closeGraceMs: number;
  /** Replication between fleets (fleet.id set); null or absent: every record is an ordinary event. */
  readonly replication?: ReplicationConfig | null;
}

export interface ForwardConnectionDeps {
  readonly intake: Intake;
  readonly metrics: ForwardMetrics;
  readonly receiverMetrics: ReceiverMetrics;
  readonly log: Logger;
}

type State = 'ping' | 'established' | 'closing';

/**
 * One Forward connection (fluent-bit's fw_conn): handshake state, the frame scanner, messages decoded in order,
 * events handed to the intake, and each chunk's ack written once the broker confirmed its batch. The socket is paused
 * while the intake is under pressure and while a compressed payload is being inflated, so TCP pushes back to the
 * sender instead of memory growing.
 */
export class ForwardConnection {
  private state: State;
  private readonly scanner: MsgpackFrameScanner;
  private readonly decoder;
  private readonly handshake: ServerHandshake | null;
  private readonly source: string | null;
  private readonly queue: Buffer[] = [];
  private working = false;
  private pressurePaused = false;
  private pendingAcks = 0;
  private brokenStream: ForwardError | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly config: ForwardConnectionConfig,
    private readonly deps: ForwardConnectionDeps,
  ) {
    this.scanner = new MsgpackFrameScanner({
      maxFrameBytes: config.limits.maxFrameBytes,
      maxDepth: config.limits.maxDepth,
    });
    this.decoder = createPartDecoder(config.limits);
    this.source = normalizeAddress(socket.remoteAddress);
    this.handshake = config.handshake ? new ServerHandshake(config.handshake) : null;
    this.state = this.handshake ? 'ping' : 'established';
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        if (this.closeTimer) clearTimeout(this.closeTimer);
        resolve();
      }),
    );

    socket.setNoDelay(true);
    socket.setTimeout(config.idleTimeoutMs);
    socket.on('timeout', () => this.onIdle());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The server allows half-open sockets: a sender that ends its side still gets the acks it waits for.
    socket.on('end', () => this.closeAfterAcks());
    socket.on('error', (err) => deps.log.debug({ source: this.source, err: err.message }, 'forward connection error'));
    if (this.handshake) socket.write(this.handshake.helo());
  }

  private isClosing(): boolean {
    return this.state === 'closing';
  }

  /** Resolves when the socket is closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  setPressure(paused: boolean): void {
    this.pressurePaused = paused;
    this.updateFlow();
  }

  /** Stops reading; the socket ends once every pending ack is written (bounded by the close grace). */
  closeAfterAcks(): void {
    if (this.state !== 'closing') {
      this.state = 'closing';
      this.queue.length = 0;
      this.closeTimer = setTimeout(() => this.socket.destroy(), this.config.closeGraceMs);
      this.closeTimer.unref();
    }
    this.updateFlow();
    if (this.pendingAcks === 0 && !this.working) this.finish();
  }

  private finish(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    // A peer that never closes its side is cut shortly after our FIN.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private updateFlow(): void {
    const read = this.state !== 'closing' && !this.pressurePaused && !this.working;
    if (read && this.socket.isPaused()) this.socket.resume();
    else if (!read && !this.socket.isPaused()) this.socket.pause();
  }

  private onIdle(): void {
    if (this.state === 'closing') return;
    // Waiting on us (acks, pressure, inflating) is not idleness: look again after another period.
    if (this.pendingAcks > 0 || this.pressurePaused || this.working) {
      this.socket.setTimeout(this.config.idleTimeoutMs);
      return;
    }
    this.fail(new ForwardError('IDLE_TIMEOUT', `no data for ${this.config.idleTimeoutMs} ms`));
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closing') return;
    const { frames, error } = this.scanner.push(chunk);
    this.queue.push(...frames);
    if (error) this.brokenStream = error; // taken after the frames before it, whose chunks are still acked
    void this.work();
  }

  /** Takes queued frames in order; only an inflate is asynchronous, and reading pauses while it runs. */
  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.queue.length > 0 && !this.isClosing()) {
        const frame = this.queue.shift()!;
        if (this.state === 'ping') {
          this.takePing(frame);
          continue;
        }
        const decoded = decodeForwardFrame(frame, this.config.limits, this.decoder);
        if (decoded.kind === 'heartbeat') {
          this.deps.metrics.messages.inc({ mode: 'heartbeat' });
          continue;
        }
        if (decoded.kind === 'events') {
          this.take(decoded);
          continue;
        }
        this.updateFlow(); // working: paused while inflating
        const inflated = await gunzipMembers(decoded.payload, this.config.limits.maxDecompressedBytes);
        if (this.isClosing()) break;
        this.take(decodeInflated(decoded, inflated, this.config.limits, this.decoder));
      }
      if (this.brokenStream && !this.isClosing()) this.fail(this.brokenStream);
    } catch (err) {
      this.fail(asForwardError(err));
    } finally {
      this.working = false;
      if (this.state === 'closing') this.closeAfterAcks();
      else this.updateFlow();
    }
  }

  private takePing(frame: Buffer): void {
    const result = this.handshake!.checkPing(frame);
    this.socket.write(result.pong);
    if (result.ok) {
      this.deps.metrics.handshakes.inc({ result: 'ok' });
      this.state = 'established';
      return;
    }
    this.deps.metrics.handshakes.inc({ result: 'failed' });
    this.deps.metrics.errors.inc({ reason: 'handshake_failed' });
    this.deps.log.warn({ source: this.source, reason: result.reason }, 'forward handshake failed; closing');
    this.closeAfterAcks();
  }

  private take(message: ForwardEvents): void {
    const { metrics, receiverMetrics, intake } = this.deps;
    metrics.messages.inc({ mode: message.mode });
    if (message.skipped > 0) metrics.errors.inc({ reason: 'nil_record' }, message.skipped);
    const { events, replicas, loops, invalid } = encodeForwardEntries(
      message.tag,
      message.entries,
      this.source,
      this.config.receiverId,
      new Date(),
      this.config.replication ?? null,
    );
    receiverMetrics.eventsReceived.inc({ protocol: 'forward', transport: 'forward' }, events.length);
    if (replicas > 0) metrics.replicated.inc({ result: 'accepted' }, replicas);
    if (loops > 0) metrics.replicated.inc({ result: 'loop' }, loops);
    if (invalid > 0) metrics.replicated.inc({ result: 'invalid' }, invalid);
    const chunk = message.options.chunk;
    if (chunk !== null) this.checkGroupSize(events);
    if (chunk === null) {
      for (const e of events) intake.submit(e.key, e.body, e.route, e.origin);
      return;
    }
    // All of a chunk's events go into one batch, so a resent chunk is recognised (and dropped) whole.
    const seq = events.length > 0 ? intake.submitGroup(events, forwardChunkKey(message.tag, chunk)) : null;
    this.pendingAcks++;
    (seq === null ? Promise.resolve() : intake.confirmed([seq])).then(
      () => this.ack(chunk),
      () => this.ackAbandoned(),
    );
  }

  /**
   * A chunk becomes one batch, oversize if need be; refuse one whose encoded events could pass the broker's message
   * size limit (it would be retried forever). Inflated entries are bounded, so this only trips on tiny events with
   * large envelopes: twice the inflate bound plus one frame.
   */
  private checkGroupSize(events: readonly { key: Uint8Array; body: Uint8Array }[]): void {
    let bytes = 0;
    for (const e of events) bytes += e.body.byteLength + e.key.byteLength;
    const max = 2 * this.config.limits.maxDecompressedBytes + this.config.limits.maxFrameBytes;
    if (bytes > max) throw new ForwardError('CHUNK_TOO_LARGE', `chunk encodes to ${bytes} bytes, more than ${max}`);
  }

  private ack(chunk: Uint8Array): void {
    this.pendingAcks--;
    if (this.socket.destroyed || !this.socket.writable) {
      this.deps.metrics.chunks.inc({ result: 'abandoned' });
    } else {
      this.socket.write(encodeAck(chunk));
      this.deps.metrics.chunks.inc({ result: 'acked' });
    }
    if (this.state === 'closing' && this.pendingAcks === 0 && !this.working) this.finish();
  }

  private ackAbandoned(): void {
    this.pendingAcks--;
    this.deps.metrics.chunks.inc({ result: 'abandoned' });
    if (this.state === 'closing' && this.pendingAcks === 0 && !this.working) this.finish();
  }

  /** A refused stream: counted by reason, no more reading; acks already due are still written, then the socket ends. */
  private fail(err: ForwardError): void {
    this.deps.metrics.errors.inc({ reason: err.reason });
    this.deps.log.warn({ source: this.source, code: err.code, err: err.message }, 'closing forward connection');
    this.closeAfterAcks();
  }
}

function asForwardError(err: unknown): ForwardError {
  if (err instanceof ForwardError) return err;
  return new ForwardError('MSGPACK_INVALID', (err as Error).message);
}
