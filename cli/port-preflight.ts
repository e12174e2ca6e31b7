import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { FleetMember, MemberPort } from './fleet/local-layout.js';

export interface TakenPort {
  readonly member: string;
  readonly what: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly code: string;
}

/**
 * Binds every port the fleet will use, on the address it will use, and releases it at once: a port another process
 * holds (often a fleet already running) is found before any member starts, instead of members failing one by one.
 */
export async function takenPorts(
  members: readonly FleetMember[],
  hostOf: (port: MemberPort) => string,
): Promise<TakenPort[]> {
  const checks: Promise<TakenPort | null>[] = [];
  for (const m of members) {
    for (const p of m.ports) {
      const host = hostOf(p);
      if (p.tcp)
        checks.push(
          tryBind('tcp', host, p.port).then((code) =>
            code === null ? null : { member: m.name, what: p.what, port: p.port, protocol: 'tcp', code },
          ),
        );
      if (p.udp)
        checks.push(
          tryBind('udp', host, p.port).then((code) =>
            code === null ? null : { member: m.name, what: p.what, port: p.port, protocol: 'udp', code },
          ),
        );
    }
  }
  return (await Promise.all(checks)).filter((t): t is TakenPort => t !== null);
}

/** null when the port could be bound; else the error code (EADDRINUSE, EACCES…). */
function tryBind(protocol: 'tcp' | 'udp', host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const fail = (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message);
    if (protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', (err) => {
        socket.close();
        fail(err);
      });
      socket.bind(port, host, () => socket.close(() => resolve(null)));
    } else {
      const server = createServer();
      server.once('error', fail);
      server.listen(port, host, () => server.close(() => resolve(null)));
    }
  });
}

/** "5514/tcp+udp (receiver-a syslog), 9601/tcp (receiver-a metrics)". */
export function describeTakenPorts(taken: readonly TakenPort[]): string {
  const byPort = new Map<string, TakenPort[]>();
  for (const t of taken) byPort.set(`${t.member} ${t.port}`, [...(byPort.get(`${t.member} ${t.port}`) ?? []), t]);
  return [...byPort.values()]
    .map((ts) => {
      const t = ts[0]!;
      const why = t.code === 'EADDRINUSE' ? '' : `, ${t.code}`;
      return `${t.port}/${ts.map((x) => x.protocol).join('+')} (${t.member} ${t.what}${why})`;
    })
    .join(', ');
}
