import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/** A random offset in [min, max) at which every TCP port (and UDP port) of `ports` is free on 127.0.0.1. */
export async function findPortOffset(tcp: readonly number[], udp: readonly number[], min = 20000, max = 40000): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = min + Math.floor(Math.random() * (max - min));
    let free = true;
    for (const p of tcp) if (!(await tcpFree(p + offset, '127.0.0.1')) || !(await tcpFree(p + offset, '0.0.0.0'))) { free = false; break; }
    if (free) for (const p of udp) if (!(await udpFree(p + offset, '127.0.0.1'))) { free = false; break; }
    if (free) return offset;
  }
  throw new Error('no free port offset found');
}

/** `count` distinct ports the OS says are free now (the usual small race between close and reuse). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => { const a = s.address(); return typeof a === 'object' && a ? a.port : 0; });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
