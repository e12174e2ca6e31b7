import type { Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeSyslogFrame, stripTrailingTerminators, type SyslogContext } from '../syslog-event.js';
import { RELP_ERRORS, RelpError } from './relp-errors.js';
import { encodeRelpFrame, nextTxnr, RelpFrameReader, SERVERCLOSE_FRAME, type RelpFrame } from './relp-frame.js';
import type { RelpCommandLabel, RelpMetrics } from './relp-metrics.js';
import { answerOpen, parseOffers } from './relp-offers.js';
import type { ThrottledWarning } from './throttled-warning.js';

export interface RelpConnectionConfig {
  readonly receiverId: string;
  /** Largest DATA of a frame (the syslog message, or the offers of `open`). */
  readonly maxDataBytes: number;
  readonly hashSourceAddress: boolean;
  readonly rfc3164TimeZone?: string;
  /** Keep each message's bytes in its body, for the syslog sink (SyslogContext.keepRaw). */
  readonly keepRaw?: boolean;
  /** 0: never close for idleness. */
  readonly idleTimeoutMs: number;
  /** How long a closing session may wait for its pending acks before it is cut (the sender then resends them). */
  readonly closeGraceMs: number;
  /** Unanswered syslog frames at which reading pauses (a client that ignores its own window cannot grow memory). */
  readonly maxUnacked: number;
  /** relp_software offer: name[,version[,url]]. */
  readonly software: string;
}

export interface RelpConnectionDeps {
  readonly intake: Intake;
  readonly metrics: RelpMetrics;
  readonly receiverMetrics: ReceiverMetrics;
  readonly log: Logger;
  /** Shared by the listener's connections: a flood of bad sessions logs once per interval. */
  readonly warning: ThrottledWarning;
}

/** Responses due for frames that went into one batch (or a protocol answer, which is due at once: seq null). */
interface PendingGroup {
  readonly seq: number | null;
  readonly frames: Buffer[];
  /** syslog frames among them (counted as acks). */
  syslog: number;
  ready: boolean;
}

type State = 'awaiting-open' | 'open' | 'closing';

const RSP_OK = '200 OK';

/**
 * One RELP session. Each syslog frame becomes an event through the syslog TCP input's encoder (the peer address as
 * source, so its dedup key is the one a TCP copy of the line would have), and its `rsp 200 OK` is written only once
 * the broker confirmed (or the spool took) the batch holding it, as the Forward input acks a chunk. Responses go out
 * in TXNR order, as the RELP specification requires of a server ("in the exact same order as commands were
 * received"): a batch confirmed early waits behind an earlier one. Frames of one batch share one wait.
 *
 * Closing (receiver drain, idle, a broken stream, the client's `close`): reading stops at once, the responses of
 * confirmed frames are written (bounded by closeGraceMs), then `serverclose` and FIN. librelp keeps every frame it
 * has no `rsp` for and sends it again on its next session, so what is not acked here is resent, and what was acked
 * is in the broker.
 */
export class RelpConnection {
  private state: State = 'awaiting-open';
  private readonly reader: RelpFrameReader;
  private readonly source: string | null;
  private readonly context: SyslogContext;
  private expectedTxnr = 1;
  private readonly pending: PendingGroup[] = [];
  private unacked = 0;
  private pressurePaused = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private finished = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly config: RelpConnectionConfig,
    private readonly deps: RelpConnectionDeps,
  ) {
    this.reader = new RelpFrameReader(config.maxDataBytes);
    this.source = normalizeAddress(socket.remoteAddress);
    this.context = {
      receiverId: config.receiverId,
      source: this.source,
      transport: 'relp',
      hashSourceAddress: config.hashSourceAddress,
      rfc3164TimeZone: config.rfc3164TimeZone,
      keepRaw: config.keepRaw,
    };
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        if (this.closeTimer) clearTimeout(this.closeTimer);
        if (this.unacked > 0) deps.metrics.acks.inc({ result: 'abandoned' }, this.unacked);
        this.unacked = 0;
        this.pending.length = 0;
        resolve();
      }),
    );

    socket.setNoDelay(true);
    if (config.idleTimeoutMs > 0) {
      socket.setTimeout(config.idleTimeoutMs);
      socket.on('timeout', () => this.onIdle());
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Half-open allowed: a client that ends its side still gets the responses it waits for.
    socket.on('end', () => this.closeAfterAcks());
    socket.on('error', (err) => deps.log.debug({ source: this.source, err: err.message }, 'relp connection error'));
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

  /** Stops reading; once every response due is written (bounded by the close grace), sends serverclose and ends. */
  closeAfterAcks(): void {
    if (this.state !== 'closing') {
      this.state = 'closing';
      this.closeTimer = setTimeout(() => this.socket.destroy(), this.config.closeGraceMs);
      this.closeTimer.unref();
    }
    this.updateFlow();
    if (this.pending.length === 0) this.finish();
  }

  private onData(chunk: Buffer): void {
    if (this.isClosing()) return;
    const { frames, error } = this.reader.push(chunk);
    const now = new Date(); // one receipt time per read: the frames of one read arrived together
    let syslog = 0;
    for (const frame of frames) {
      try {
        if (this.take(frame, now)) syslog++;
      } catch (err) {
        this.fail(err instanceof RelpError ? err : new RelpError('BAD_COMMAND', (err as Error).message));
        break;
      }
      if (this.isClosing()) break; // after `close` the client may send nothing more
    }
    if (syslog > 0) {
      // Counted once per read, not per frame, as the TCP input does.
      this.deps.receiverMetrics.eventsReceived.inc({ protocol: 'syslog', transport: 'relp' }, syslog);
      this.deps.metrics.frames.inc({ command: 'syslog' }, syslog);
    }
    if (error && !this.isClosing()) this.fail(error);
    this.updateFlow();
  }

  /** Takes one frame; true when it was a syslog message. Throws RelpError for a frame that ends the session. */
  private take(frame: RelpFrame, now: Date): boolean {
    if (frame.txnr === 0) {
      this.count('hint');
      return false;
    } // librelp clients send no hints; nothing to answer
    if (frame.txnr !== this.expectedTxnr) {
      throw new RelpError('TXNR_OUT_OF_SEQUENCE', `TXNR ${frame.txnr}, expected ${this.expectedTxnr}`);
    }
    this.expectedTxnr = nextTxnr(this.expectedTxnr);
    switch (frame.command) {
      case 'syslog':
        if (this.state !== 'open') throw new RelpError('NOT_OPEN', 'syslog before the session was opened');
        this.takeSyslog(frame, now);
        return true;
      case 'open':
        this.count('open');
        this.takeOpen(frame);
        return false;
      case 'close':
        this.count('close');
        this.respond(frame.txnr, RSP_OK);
        this.closeAfterAcks();
        return false;
      case 'rsp':
        throw new RelpError('UNEXPECTED_RSP', 'a client sent rsp; only the server answers');
      default:
        // Not offered, so a correct client never sends it: answered 500 (the client gives up on that command).
        this.count('other');
        this.deps.metrics.errors.inc({ reason: RELP_ERRORS.UNKNOWN_COMMAND.reason });
        this.respond(frame.txnr, '500 command not supported');
        return false;
    }
  }

  private takeOpen(frame: RelpFrame): void {
    if (this.state === 'open') {
      // librelp answers a repeated open the same way, and keeps the session.
      this.respond(frame.txnr, '200 connection already open - ignored');
      return;
    }
    const answer = answerOpen(parseOffers(frame.data), this.config.software);
    this.respond(frame.txnr, answer.response);
    if (answer.ok) {
      this.state = 'open';
      return;
    }
    this.fail(new RelpError('BAD_OFFERS', answer.problem));
  }

  private takeSyslog(frame: RelpFrame, now: Date): void {
    const { intake, receiverMetrics } = this.deps;
    const event = encodeSyslogFrame(stripTrailingTerminators(frame.data), this.context, now);
    if (!event.parsed) receiverMetrics.parseErrors.inc({ protocol: 'syslog', code: event.parseErrorCode ?? 'UNKNOWN' });
    const seq = intake.submit(event.key, event.body, event.route);
    const rsp = encodeRelpFrame(frame.txnr, 'rsp', RSP_OK);
    this.unacked++;
    const last = this.pending.at(-1);
    if (last && last.seq === seq && !last.ready) {
      last.frames.push(rsp);
      last.syslog++;
      return;
    }
    const group: PendingGroup = { seq, frames: [rsp], syslog: 1, ready: false };
    this.pending.push(group);
    intake.confirmed([seq]).then(
      () => {
        group.ready = true;
        this.flush();
      },
      () => this.abandon(),
    );
  }

  /** A protocol answer, due at once but still behind every earlier response. */
  private respond(txnr: number, text: string): void {
    this.pending.push({ seq: null, frames: [encodeRelpFrame(txnr, 'rsp', text)], syslog: 0, ready: true });
    this.flush();
  }

  /** Writes every response at the head that is due, in order. */
  private flush(): void {
    if (this.socket.destroyed) return;
    const out: Buffer[] = [];
    let acked = 0;
    while (this.pending.length > 0 && this.pending[0]!.ready) {
      const group = this.pending.shift()!;
      out.push(...group.frames);
      acked += group.syslog;
    }
    if (out.length > 0) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (acked > 0) {
      this.unacked -= acked;
      this.deps.metrics.acks.inc({ result: 'acked' }, acked);
    }
    if (this.state === 'closing' && this.pending.length === 0) this.finish();
    else this.updateFlow();
  }

  /**
   * The receiver stopped before the batch was confirmed: no later response may go out before this one, so the
   * session ends now and the client resends everything it holds unanswered.
   */
  private abandon(): void {
    this.socket.destroy();
  }

  private finish(): void {
    if (this.finished || this.socket.destroyed) return;
    this.finished = true;
    this.socket.end(SERVERCLOSE_FRAME);
    this.deps.metrics.serverCloses.inc();
    // A peer that never closes its side is cut shortly after our FIN.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private updateFlow(): void {
    const read = this.state !== 'closing' && !this.pressurePaused && this.unacked < this.config.maxUnacked;
    if (read && this.socket.isPaused()) this.socket.resume();
    else if (!read && !this.socket.isPaused()) this.socket.pause();
  }

  private onIdle(): void {
    if (this.state === 'closing') return;
    // Waiting on us (acks, pressure) is not idleness: look again after another period.
    if (this.unacked > 0 || this.pressurePaused) {
      this.socket.setTimeout(this.config.idleTimeoutMs);
      return;
    }
    this.fail(new RelpError('IDLE_TIMEOUT', `no frame for ${this.config.idleTimeoutMs} ms`), 'debug');
  }

  private fail(err: RelpError, level: 'warn' | 'debug' = 'warn'): void {
    this.deps.metrics.errors.inc({ reason: err.reason });
    const fields = { source: this.source, code: err.code, err: err.message };
    if (level === 'warn') this.deps.warning.warn(fields);
    else this.deps.log.debug(fields, 'closing idle relp session');
    this.closeAfterAcks();
  }

  private count(command: RelpCommandLabel): void {
    this.deps.metrics.frames.inc({ command });
  }
}
