import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { FleetMember } from './local-layout.js';

/** What readiness needs of a member: its name and the ports it serves. */
export type ProbedMember = Pick<FleetMember, 'name' | 'ports'>;

/** Where to reach a server bound to `host`: a wildcard address is reached through the loopback. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/**
 * Why `member` is not ready yet, or null when it is: its /readyz answers 200 (connected to what it needs) and
 * every TCP input accepts a connection (a receiver binds its inputs after its metrics server, so /readyz alone
 * would say yes too early).
 */
export async function memberNotReady(
  member: ProbedMember,
  inputHost: string,
  metricsHost: string,
): Promise<string | null> {
  const metrics = member.ports.find((p) => p.what === 'metrics');
  if (metrics) {
    const status = await httpNotOk(`http://${urlHost(reachableHost(metricsHost))}:${metrics.port}/readyz`);
    if (status !== null) return `readyz ${status}`;
  }
  for (const p of member.ports) {
    if (!p.input || !p.tcp) continue;
    const error = await (p.tls ? tlsAccepts : tcpAccepts)(reachableHost(inputHost), p.port);
    if (error !== null) return `${p.what} ${p.port}/tcp ${error}`;
  }
  return null;
}

/** null when `url` answers 2xx, else the status or the connection error's code. */
export function httpNotOk(url: string, timeoutMs = 2000): Promise<string | null> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (r) => {
      void r.body?.cancel();
      return r.ok ? null : String(r.status);
    },
    (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.name,
  );
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** null when a TCP connection opens (it is closed at once). */
export function tcpAccepts(host: string, port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timed out');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err.code ?? err.message);
    });
  });
}

/**
 * null when a TLS handshake completes: the listener's certificate is not checked (only that it answers), and a
 * completed handshake is not logged by the receiver as a failed one, as a bare connect would be.
 */
export function tlsAccepts(host: string, port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connectTls({
      host,
      port,
      rejectUnauthorized: false,
      servername: host.includes(':') || /^[\d.]+$/.test(host) ? undefined : host,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timed out');
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err.code ?? err.message);
    });
  });
}

/**
 * Polls every member until all are ready, `signal` aborts (a member failed for good, or Ctrl-C), or `timeoutMs`
 * passes. Returns what is still not ready ("receiver-a: readyz 503"), empty when all are.
 */
export async function waitForFleet(
  members: readonly ProbedMember[],
  inputHost: string,
  metricsHost: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...members];
  for (;;) {
    const states = await Promise.all(
      pending.map(async (m) => ({ m, why: await memberNotReady(m, inputHost, metricsHost) })),
    );
    pending = states.filter((s) => s.why !== null).map((s) => s.m);
    const reasons = states.filter((s) => s.why !== null).map((s) => `${s.m.name}: ${s.why}`);
    if (pending.length === 0 || signal.aborted || Date.now() >= deadline) return reasons;
    await new Promise((r) => setTimeout(r, 100));
  }
}
