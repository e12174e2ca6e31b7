import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy the test can cut and restore: a broker that becomes unreachable (a network partition)
 * without stopping the shared RabbitMQ that other tests use.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  /** `listenHost`: another local address when the clients are in another network namespace (a bridge's address). */
  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    private readonly listenHost = '127.0.0.1',
  ) {}

  async start(port = this.port): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client);
      this.sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.listenHost, () => resolve());
    });
    this.server = server;
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
  }

  /** Drops every connection and stops listening: the broker is unreachable. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise((r) => server.close(r));
  }
}

// One free-port helper for the test support code: kept importable from here for the tests that use it.
export { freePort } from './free-ports.js';
