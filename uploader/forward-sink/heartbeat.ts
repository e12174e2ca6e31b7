import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, isIP } from 'node:net';

/**
 * out_forward's `heartbeat_type transport`: a TCP connection that opens is a heartbeat. No byte is sent, so any
 * Forward server (and a TLS one) accepts it. Resolves false on refusal, error or timeout; never rejects.
 */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `heartbeat_type udp`: a "\0" datagram to each server's Forward port; in_forward answers on the same port.
 * A reply is matched to its server by resolved address and port.
 */
export class UdpHeartbeat {
  private readonly socket: UdpSocket;
  private readonly resolved = new Map<string, string>();

  constructor(
    family: 4 | 6,
    private readonly onReply: (address: string, port: number) => void,
  ) {
    this.socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (_msg, rinfo) => this.onReply(rinfo.address, rinfo.port));
    this.socket.on('error', () => undefined); // ICMP unreachable and the like: the missing reply is the signal
    this.socket.bind(0);
    this.socket.unref();
  }

  /** The address replies come from: the host itself when it is an IP, else its last lookup. */
  addressOf(host: string): string | undefined {
    return isIP(host) ? host : this.resolved.get(host);
  }

  async ping(host: string, port: number): Promise<void> {
    let address = host;
    if (!isIP(host)) {
      try {
        address = (await lookup(host)).address;
      } catch {
        return;
      }
      this.resolved.set(host, address);
    }
    this.socket.send(Buffer.from([0]), port, address, () => undefined);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
