import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { lookup } from 'node:dns/promises';
import { asSyslogError, SyslogSendError } from './syslog-errors.js';

/**
 * RFC 5426: one message per datagram, to one collector. The socket is connected, so the kernel reports an ICMP
 * "port unreachable" from a collector that is down as ECONNREFUSED on a later send, which fails over like a TCP
 * error; nothing else ever comes back. A send resolves when the kernel took the datagram: that is all UDP can say,
 * and a datagram lost on the way (or dropped by a busy collector) is never known.
 */
export class SyslogUdpClient {
  private failure: SyslogSendError | null = null;
  onClose: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly label: string,
  ) {
    socket.on('error', (err) => this.fail(asSyslogError(err, true)));
    socket.on('close', () => {
      this.fail(new SyslogSendError('SYSLOG_CONNECTION_CLOSED', `${label}: socket closed`));
      this.onClose?.();
    });
  }

  static async connect(host: string, port: number, connectTimeoutMs: number): Promise<SyslogUdpClient> {
    const label = `${host}:${port}`;
    let address: string;
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      throw new SyslogSendError('SYSLOG_CONNECT_FAILED', `${label}: ${(err as Error).message}`);
    }
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new SyslogSendError('SYSLOG_CONNECT_TIMEOUT', `${label}: no UDP socket within ${connectTimeoutMs} ms`),
          ),
        connectTimeoutMs,
      );
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.close();
        reject(new SyslogSendError('SYSLOG_CONNECT_FAILED', `${label}: ${err.message}`));
      });
      socket.connect(port, address, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
    });
    return new SyslogUdpClient(socket, label);
  }

  get usable(): boolean {
    return this.failure === null;
  }

  /** One datagram per message, in order; resolves when the kernel took them all. */
  async write(messages: readonly Buffer[]): Promise<void> {
    if (this.failure) throw this.failure;
    await Promise.all(
      messages.map(
        (m) =>
          new Promise<void>((resolve, reject) => {
            this.socket.send(m, (err) => {
              if (!err) {
                resolve();
                return;
              }
              const e = new SyslogSendError('SYSLOG_SEND_FAILED', `${this.label}: ${err.message}`);
              this.fail(e);
              reject(e);
            });
          }),
      ),
    );
  }

  close(): void {
    if (this.failure) return;
    this.failure = new SyslogSendError('SYSLOG_CONNECTION_CLOSED', 'socket closed by the sink');
    this.socket.close();
  }

  private fail(err: SyslogSendError): void {
    if (this.failure) return;
    this.failure = err;
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
