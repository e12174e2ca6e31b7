import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

/**
 * `count` distinct ports of 127.0.0.1 that are free for both TCP and UDP right now (a syslog port binds both). Each
 * is held until all are found, so they differ; a port whose UDP side is taken is skipped. Bounded attempts.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count && attempt < count * 20; attempt++) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      held.push(server);
      const port = (server.address() as { port: number }).port;
      if (await udpFree(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports`);
  return ports;
}

function udpFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.close();
      resolve(true);
    });
  });
}

/** One port free for TCP and UDP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
