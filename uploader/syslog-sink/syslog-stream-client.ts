import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { asSyslogError, SyslogSendError } from './syslog-errors.js';

export interface StreamTls {
  /** PEM of the CAs to trust; null: the system store. */
  readonly ca: Buffer | null;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  /** SNI and the name the certificate must hold; null: the server's host (an IP is checked against IP SANs). */
  readonly serverName: string | null;
  readonly insecure: boolean;
}

export interface StreamClientOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: StreamTls | null;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

/**
 * One TCP or TLS connection to one collector. A write resolves once the kernel took every byte (the write
 * callback of the last frame), waiting for 'drain' whenever the socket's buffer is full, so the sink never buffers
 * more than one write ahead of a slow collector. Syslog collectors never answer, so the only news from the peer is
 * its FIN or an error: either makes the connection unusable, and it is not written to again.
 */
export class SyslogStreamClient {
  private failure: SyslogSendError | null = null;
  private peerEnded = false;
  onClose: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly options: StreamClientOptions,
  ) {}

  static connect(options: StreamClientOptions): Promise<SyslogStreamClient> {
    const { host, port, tls } = options;
    const label = `${host}:${port}`;
    const socket: Socket = tls
      ? tlsConnect({
          host,
          port,
          ca: tls.ca ?? undefined,
          cert: tls.cert ?? undefined,
          key: tls.key ?? undefined,
          rejectUnauthorized: !tls.insecure,
          servername: tls.serverName ?? (isIP(host) ? undefined : host),
        })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    const client = new SyslogStreamClient(socket, options);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new SyslogSendError(
            'SYSLOG_CONNECT_TIMEOUT',
            `${label}: no connection${tls ? ' and TLS handshake' : ''} within ${options.connectTimeoutMs} ms`,
          ),
        );
      }, options.connectTimeoutMs);
      const failed = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(withLabel(asSyslogError(err, false), label));
      };
      socket.once('error', failed);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        const tlsSocket = socket as TLSSocket;
        // rejectUnauthorized already refused a bad chain; this covers a verification error Node only reports.
        if (tls && !tls.insecure && tlsSocket.authorized === false) {
          failed(
            new SyslogSendError(
              'SYSLOG_TLS_FAILED',
              `certificate not verified: ${String(tlsSocket.authorizationError)}`,
            ),
          );
          return;
        }
        client.watch(label);
        resolve(client);
      });
    });
  }

  /** False once the peer closed, an error came, or the sink closed it. */
  get usable(): boolean {
    return this.failure === null && !this.peerEnded && !this.socket.destroyed;
  }

  /** Writes the frames in order; resolves when the kernel took them all. */
  async write(frames: readonly Buffer[]): Promise<void> {
    if (!this.usable)
      throw this.failure ?? new SyslogSendError('SYSLOG_CONNECTION_CLOSED', 'connection closed by the server');
    const { socket } = this;
    let last: Promise<void> = Promise.resolve();
    for (const f of frames) {
      if (this.failure) throw this.failure;
      last = new Promise<void>((resolve, reject) =>
        socket.write(f, (err) => (err ? reject(asSyslogError(err, true)) : resolve())),
      );
      last.catch(() => undefined); // observed below, or by the failure that follows it
      if (socket.writableNeedDrain) await this.drained();
    }
    await this.bounded(last);
  }

  close(): void {
    if (!this.failure) this.failure = new SyslogSendError('SYSLOG_CONNECTION_CLOSED', 'connection closed by the sink');
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private watch(label: string): void {
    const { socket } = this;
    socket.on('data', () => undefined); // a collector has nothing to say; read so that its FIN is seen
    socket.on('end', () => {
      this.peerEnded = true;
      this.fail(new SyslogSendError('SYSLOG_CONNECTION_CLOSED', `${label}: connection closed by the server`));
    });
    socket.on('error', (err) => this.fail(withLabel(asSyslogError(err, true), label)));
    socket.on('close', () => {
      this.fail(new SyslogSendError('SYSLOG_CONNECTION_CLOSED', `${label}: connection closed`));
      this.onClose?.();
    });
  }

  private fail(err: SyslogSendError): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
  }

  private drained(): Promise<void> {
    return this.bounded(
      new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      }),
    ).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /** `p`, failing the connection when it takes longer than writeTimeoutMs (the collector stopped reading). */
  private bounded(p: Promise<void>): Promise<void> {
    const ms = this.options.writeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SyslogSendError(
          'SYSLOG_WRITE_TIMEOUT',
          `${this.options.host}:${this.options.port}: the kernel did not take the bytes within ${ms} ms`,
        );
        this.fail(err);
        reject(err);
      }, ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

function withLabel(err: SyslogSendError, label: string): SyslogSendError {
  return err.message.startsWith(label) ? err : new SyslogSendError(err.code, `${label}: ${err.message}`);
}
