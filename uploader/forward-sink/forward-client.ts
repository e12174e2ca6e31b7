import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import type { ForwardAuth, ForwardTls } from './forward-sink-config.js';
import { ForwardSendError, asForwardError } from './forward-errors.js';
import { buildPing, checkPong, isCommand, newSalt, parseHelo, textOf, type Helo } from './forward-handshake.js';

export interface ForwardClientOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ForwardTls | null;
  readonly auth: ForwardAuth | null;
  /** Limit for the TCP (and TLS) connect and for the whole handshake. */
  readonly connectTimeoutMs: number;
  /** 0: resolve a send once its bytes are written; otherwise wait this long for `{"ack": chunk}`. */
  readonly ackTimeoutMs: number;
}

/** A server answers with small maps and arrays only: anything larger is a broken or hostile peer. */
const RESPONSE_LIMITS = {
  rawStrings: true,
  maxStrLength: 4096,
  maxBinLength: 4096,
  maxArrayLength: 8,
  maxMapLength: 8,
  maxExtLength: 64,
} as const;

interface Waiter {
  resolve(): void;
  reject(err: ForwardSendError): void;
  timer: NodeJS.Timeout;
}

/**
 * One connection to one server: connect, handshake when a shared key is set, then any number of pipelined
 * messages whose acks are matched by chunk id (so a server may ack out of order). A missing ack fails its chunk
 * and closes the connection, like out_forward: every other chunk waiting on it fails too and is resent.
 */
export class ForwardClient {
  private readonly waiting = new Map<string, Waiter[]>();
  private failure: ForwardSendError | null = null;
  private phase: 'connecting' | 'helo' | 'pong' | 'ready' = 'connecting';
  private helo: Helo | null = null;
  private readonly salt = newSalt();
  private established!: { resolve(): void; reject(err: ForwardSendError): void };
  /** Messages handed to this connection so far. */
  sends = 0;
  /** From the server's HELO: false means one message per connection. */
  keepalive = true;
  onClose: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly options: ForwardClientOptions,
  ) {}

  static connect(options: ForwardClientOptions): Promise<ForwardClient> {
    const { host, port, tls } = options;
    const socket = tls
      ? tlsConnect({
          host,
          port,
          ca: tls.ca ?? undefined,
          rejectUnauthorized: !tls.insecure,
          servername: isIP(host) ? undefined : host,
        })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    const client = new ForwardClient(socket, options);
    return client.start();
  }

  /** False once the connection failed or closed: the caller opens a new one. */
  get usable(): boolean {
    return this.failure === null && this.phase === 'ready';
  }

  send(message: Buffer, chunkId: string | null, onWritten: () => void = () => undefined): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.sends++;
      onWritten();
      if (chunkId !== null && this.options.ackTimeoutMs > 0) {
        const timer = setTimeout(() => this.ackTimedOut(chunkId), this.options.ackTimeoutMs);
        const list = this.waiting.get(chunkId) ?? [];
        list.push({ resolve, reject, timer });
        this.waiting.set(chunkId, list);
        this.socket.write(message, (err) => {
          if (err) this.fail(asForwardError(err));
        });
      } else {
        this.socket.write(message, (err) => (err ? reject(asForwardError(err)) : resolve()));
      }
    });
  }

  /** Ends the connection; chunks still waiting for an ack fail (and are resent by the caller). */
  close(): void {
    this.fail(new ForwardSendError('FORWARD_CONNECTION_CLOSED', 'connection closed by the sink'), true);
  }

  private start(): Promise<ForwardClient> {
    const { socket, options } = this;
    const label = `${options.host}:${options.port}`;
    const ready = new Promise<void>((resolve, reject) => {
      this.established = { resolve, reject };
    });
    const timer = setTimeout(() => {
      const connecting = this.phase === 'connecting';
      this.fail(
        new ForwardSendError(
          connecting ? 'FORWARD_CONNECT_FAILED' : 'FORWARD_HANDSHAKE_FAILED',
          `${label}: no ${connecting ? 'connection' : 'handshake'} within ${options.connectTimeoutMs} ms`,
        ),
      );
    }, options.connectTimeoutMs);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      if (options.auth) {
        this.phase = 'helo';
        return;
      }
      this.phase = 'ready';
      this.established.resolve();
    });
    const lost = (reason: string) => {
      const code =
        this.phase === 'connecting'
          ? 'FORWARD_CONNECT_FAILED'
          : this.phase === 'ready'
            ? 'FORWARD_CONNECTION_CLOSED'
            : 'FORWARD_HANDSHAKE_FAILED';
      this.fail(new ForwardSendError(code, `${label}: ${reason}`, this.phase === 'ready'));
    };
    socket.on('error', (err) => lost(err.message));
    socket.on('close', () => {
      lost('connection closed by the server');
      this.onClose?.();
    });
    void this.readResponses(label);
    return ready.then(
      () => {
        clearTimeout(timer);
        return this;
      },
      (err: ForwardSendError) => {
        clearTimeout(timer);
        throw err;
      },
    );
  }

  private async readResponses(label: string): Promise<void> {
    try {
      for await (const message of decodeMultiStream<undefined>(this.socket, RESPONSE_LIMITS))
        this.onMessage(message, label);
    } catch (err) {
      if (!this.failure)
        this.fail(
          new ForwardSendError('FORWARD_PROTOCOL_ERROR', `${label}: undecodable response: ${(err as Error).message}`),
        );
    }
  }

  private onMessage(message: unknown, label: string): void {
    const auth = this.options.auth;
    if (this.phase === 'helo' && auth) {
      const helo = parseHelo(message);
      if (!helo) {
        this.fail(new ForwardSendError('FORWARD_HANDSHAKE_FAILED', `${label}: expected HELO`));
        return;
      }
      this.helo = helo;
      this.keepalive = helo.keepalive;
      this.phase = 'pong';
      this.socket.write(encode(buildPing(helo, auth, this.salt)));
      return;
    }
    if (this.phase === 'pong' && auth && this.helo) {
      const result = checkPong(message, this.helo, auth, this.salt);
      if (!result.ok) {
        this.fail(new ForwardSendError('FORWARD_AUTH_FAILED', `${label}: ${result.reason}`));
        return;
      }
      this.phase = 'ready';
      this.established.resolve();
      return;
    }
    if (isCommand(message, 'HELO')) {
      this.fail(
        new ForwardSendError(
          'FORWARD_AUTH_FAILED',
          `${label}: the server requires a handshake; set uploader.forwardSink.sharedKey`,
        ),
      );
      return;
    }
    const ack =
      typeof message === 'object' && message !== null && !Array.isArray(message)
        ? textOf((message as Record<string, unknown>).ack)
        : null;
    if (ack === null) {
      this.fail(new ForwardSendError('FORWARD_PROTOCOL_ERROR', `${label}: unexpected response`));
      return;
    }
    const list = this.waiting.get(ack);
    if (!list) return; // an ack for a chunk that already timed out or was never ours: harmless
    this.waiting.delete(ack);
    for (const w of list) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private ackTimedOut(chunkId: string): void {
    const list = this.waiting.get(chunkId);
    if (!list) return;
    this.waiting.delete(chunkId);
    const err = new ForwardSendError(
      'FORWARD_ACK_TIMEOUT',
      `${this.options.host}:${this.options.port}: no ack for chunk ${chunkId} within ${this.options.ackTimeoutMs} ms`,
    );
    for (const w of list) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.fail(new ForwardSendError('FORWARD_CONNECTION_CLOSED', 'connection closed after a missing ack'));
  }

  /** Fails everything still waiting; `graceful` lets written bytes drain (FIN) instead of resetting. */
  private fail(err: ForwardSendError, graceful = false): void {
    if (this.failure) return;
    this.failure = err;
    this.established.reject(err);
    for (const list of this.waiting.values())
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    this.waiting.clear();
    if (!graceful) {
      this.socket.destroy();
      return;
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
