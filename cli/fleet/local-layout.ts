import type { LocalTlsFiles } from '../local-tls.js';

export const MAX_LOCAL_WORKERS = 9;

/** The local fleet of docs/design.md §5 as data: receivers a and b, two dedup workers (or `workers` of them), one uploader. */
export interface FleetMember {
  readonly name: string;
  readonly role: 'receiver' | 'worker' | 'uploader';
  readonly env: Record<string, string>;
  readonly endpoints: readonly string[];
  readonly ports: readonly MemberPort[];
}

/** A port a member binds: what it serves and over which protocols (a syslog port is both UDP and TCP). */
export interface MemberPort {
  readonly what: string;
  readonly port: number;
  readonly tcp: boolean;
  readonly udp: boolean;
  /** Speaks TLS from the first byte: a readiness probe must complete a handshake, not just connect. */
  readonly tls: boolean;
  /** An input senders connect to (the fleet waits for these before saying it is up), not the metrics server. */
  readonly input: boolean;
}

/**
 * `tls`: the certificate the receivers' syslog TLS ports use — files generated for the fleet, 'configured' when the
 * operator's FANIN_RECEIVER_TLS_* settings (inherited by the children) name one, or null to leave TLS off. Inputs and
 * metrics servers alike bind `host`: a developer's fleet is not reachable from the network unless asked to be.
 */
export function localFleet(
  portOffset: number,
  host = '127.0.0.1',
  tls: LocalTlsFiles | 'configured' | null = null,
  workers = 2,
): FleetMember[] {
  // Worker n serves metrics on 9610 + n; the uploader's 9621 caps the count (the bench's 1/2/4-worker curve needs 4).
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_LOCAL_WORKERS) {
    throw new RangeError(`workers must be 1..${MAX_LOCAL_WORKERS}, got ${workers}`);
  }
  if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > maxPortOffset()) {
    throw new RangeError(`portOffset must be 0..${maxPortOffset()}, got ${portOffset}`);
  }
  const p = (port: number) => String(port + portOffset);
  const tlsEnv: Record<string, string> =
    tls === null || tls === 'configured'
      ? {}
      : { FANIN_RECEIVER_TLS_CERT_FILE: tls.certFile, FANIN_RECEIVER_TLS_KEY_FILE: tls.keyFile };
  const metricsPort = (port: number): MemberPort => ({
    what: 'metrics',
    port: port + portOffset,
    tcp: true,
    udp: false,
    tls: false,
    input: false,
  });
  const receiver = (
    id: string,
    syslog: number,
    syslogTls: number,
    forward: number,
    http: number,
    metrics: number,
  ): FleetMember => ({
    name: `receiver-${id}`,
    role: 'receiver',
    env: {
      FANIN_RECEIVER_ID: id,
      FANIN_RECEIVER_LISTEN_HOST: host,
      FANIN_RECEIVER_SYSLOG_PORT: p(syslog),
      FANIN_RECEIVER_SYSLOG_TLS_PORT: tls === null ? '0' : p(syslogTls),
      FANIN_RECEIVER_FORWARD_PORT: p(forward),
      FANIN_RECEIVER_HTTP_PORT: p(http),
      FANIN_METRICS_HOST: host,
      FANIN_METRICS_PORT: p(metrics),
      ...tlsEnv,
    },
    endpoints: [
      `syslog udp+tcp ${host}:${p(syslog)}`,
      ...(tls === null ? [] : [`syslog tls ${host}:${p(syslogTls)}`]),
      `forward tcp+udp ${host}:${p(forward)}`,
      `http input http://${host}:${p(http)}/<tag>`,
      `metrics http://${host}:${p(metrics)}/metrics`,
    ],
    ports: [
      { what: 'syslog', port: syslog + portOffset, tcp: true, udp: true, tls: false, input: true },
      ...(tls === null
        ? []
        : [{ what: 'syslog tls', port: syslogTls + portOffset, tcp: true, udp: false, tls: true, input: true }]),
      { what: 'forward', port: forward + portOffset, tcp: true, udp: true, tls: false, input: true },
      { what: 'http input', port: http + portOffset, tcp: true, udp: false, tls: false, input: true },
      metricsPort(metrics),
    ],
  });
  const worker = (n: number, metrics: number): FleetMember => ({
    name: `dedup-worker-${n}`,
    role: 'worker',
    env: { FANIN_WORKER_ID: `w${n}`, FANIN_METRICS_HOST: host, FANIN_METRICS_PORT: p(metrics) },
    endpoints: [`metrics http://${host}:${p(metrics)}/metrics`],
    ports: [metricsPort(metrics)],
  });
  return [
    receiver('a', 5514, 6514, 24224, 8888, 9601),
    receiver('b', 5515, 6515, 24225, 8889, 9602),
    ...Array.from({ length: workers }, (_, i) => worker(i + 1, 9611 + i)),
    {
      name: 'uploader',
      role: 'uploader',
      env: { FANIN_UPLOADER_ID: 'u1', FANIN_METRICS_HOST: host, FANIN_METRICS_PORT: p(9621) },
      endpoints: [`metrics http://${host}:${p(9621)}/metrics`],
      ports: [metricsPort(9621)],
    },
  ];
}

/** The highest base port is the receivers' Forward port: a larger offset would pass 65535. */
export function maxPortOffset(): number {
  return 65535 - 24225;
}
