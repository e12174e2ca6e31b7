import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '../../shared/config/config-error.js';

/** One aggregator, as the operator configured it. `label` ("host:port") names it in logs and metric labels. */
export interface ForwardServer {
  readonly host: string;
  readonly port: number;
  /** Load-balancing weight, like out_forward's `weight` (default 60). */
  readonly weight: number;
  /** Used only while regular servers are down, like out_forward's `standby`. */
  readonly standby: boolean;
  readonly label: string;
}

export type HeartbeatType = 'tcp' | 'udp' | 'none';

export interface ForwardAuth {
  readonly sharedKey: string;
  readonly selfHostname: string;
  /** Sent only when the server's HELO asks for user authentication. */
  readonly username: string;
  readonly password: string;
}

export interface ForwardTls {
  /** PEM of the CAs to trust; null trusts the system store. */
  readonly ca: Buffer | null;
  /** Skip certificate and host name verification (tests, self-signed labs). */
  readonly insecure: boolean;
}

export interface ForwardSinkOptions {
  readonly servers: readonly ForwardServer[];
  /** Wait for `{"ack": chunk}` before a write resolves (at-least-once); off resolves once the bytes are written. */
  readonly requireAckResponse: boolean;
  readonly ackResponseTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly heartbeatType: HeartbeatType;
  readonly heartbeatIntervalMs: number;
  /** Consecutive failed heartbeats before a server is taken out of rotation (a failed send takes it out at once). */
  readonly downAfterFailures: number;
  /** Consecutive successful heartbeats before a server that was down is used again. */
  readonly upAfterHeartbeats: number;
  readonly compress: 'text' | 'gzip';
  readonly tls: ForwardTls | null;
  /** Handshake credentials; null when no shared key is configured (no handshake). */
  readonly auth: ForwardAuth | null;
  /** Record key that carries the fanin event id (aggregators dedupe on it); null leaves records untouched. */
  readonly idKey: string | null;
  /** Replication to another fleet (fleet.id set and a path key): null sends no path. */
  readonly replication: SinkReplication | null;
  /** Fleet ids: an event that passed one of them is not sent (counted). Empty: none. */
  readonly excludeFleets: ReadonlySet<string>;
}

/** What the sink adds for another fleet: the path under `pathKey`, the event's path with this fleet last. */
export interface SinkReplication {
  readonly fleetId: string;
  readonly pathKey: string;
}

/** The settings this sink reads (the uploader.forwardSink.* block, forward-sink/settings.ts). */
export interface ForwardSinkSettings {
  readonly forwardSinkServers: string;
  readonly forwardSinkRequireAckResponse: boolean;
  readonly forwardSinkAckResponseTimeoutMs: number;
  readonly forwardSinkConnectTimeoutMs: number;
  readonly forwardSinkHeartbeatType: HeartbeatType;
  readonly forwardSinkHeartbeatIntervalMs: number;
  readonly forwardSinkDownAfterFailures: number;
  readonly forwardSinkUpAfterHeartbeats: number;
  readonly forwardSinkCompress: 'text' | 'gzip';
  readonly forwardSinkTls: boolean;
  readonly forwardSinkTlsCaFile: string;
  readonly forwardSinkTlsInsecure: boolean;
  readonly forwardSinkSharedKey: string;
  readonly forwardSinkSelfHostname: string;
  readonly forwardSinkUsername: string;
  readonly forwardSinkPassword: string;
  readonly forwardSinkIdKey: string;
  /** Replication between fleets (docs/replication.md); absent: off. */
  readonly fleetId?: string;
  readonly forwardSinkPathKey?: string;
  readonly forwardSinkExcludeFleets?: string;
}

const SERVERS_KEY = 'uploader.forwardSink.servers (FANIN_UPLOADER_FORWARD_SINK_SERVERS)';
export const DEFAULT_WEIGHT = 60;

/**
 * Validates once at start-up and freezes (fastify's way): every problem is reported with the key that causes it.
 */
export function forwardSinkOptionsFromConfig(s: ForwardSinkSettings): ForwardSinkOptions {
  const problems: string[] = [];
  const servers = parseServerList(s.forwardSinkServers, problems);
  if (s.forwardSinkHeartbeatType === 'udp' && servers.length > 0) {
    const families = new Set(servers.map((x) => (x.host.includes(':') ? 6 : 4)));
    if (families.size > 1)
      problems.push('uploader.forwardSink.heartbeatType: udp heartbeats need servers of one address family');
  }
  let tls: ForwardTls | null = null;
  if (s.forwardSinkTls) {
    let ca: Buffer | null = null;
    if (s.forwardSinkTlsCaFile) {
      try {
        ca = readFileSync(s.forwardSinkTlsCaFile);
      } catch (err) {
        problems.push(
          `uploader.forwardSink.tlsCaFile: cannot read ${s.forwardSinkTlsCaFile}: ${(err as Error).message}`,
        );
      }
    }
    tls = { ca, insecure: s.forwardSinkTlsInsecure };
  }
  if ((s.forwardSinkUsername || s.forwardSinkPassword) && !s.forwardSinkSharedKey) {
    problems.push('uploader.forwardSink.username: user authentication needs uploader.forwardSink.sharedKey too');
  }
  const fleetId = s.fleetId ?? '';
  const pathKey = s.forwardSinkPathKey ?? '';
  const excludeFleets = new Set(
    (s.forwardSinkExcludeFleets ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  );
  if (fleetId !== '' && pathKey !== '' && !s.forwardSinkIdKey) {
    problems.push(
      'uploader.forwardSink.idKey: replication (fleet.id set, with a pathKey) needs the id key: the receiving fleet dedups by it',
    );
  }
  if (fleetId !== '' && pathKey !== '' && pathKey === s.forwardSinkIdKey)
    problems.push('uploader.forwardSink.pathKey: must differ from idKey');
  if (excludeFleets.has(fleetId))
    problems.push(
      `uploader.forwardSink.excludeFleets: lists this fleet's own id "${fleetId}", which no event here has passed before`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  const auth: ForwardAuth | null = s.forwardSinkSharedKey
    ? Object.freeze({
        sharedKey: s.forwardSinkSharedKey,
        selfHostname: s.forwardSinkSelfHostname || hostname(),
        username: s.forwardSinkUsername,
        password: s.forwardSinkPassword,
      })
    : null;
  return Object.freeze({
    servers,
    requireAckResponse: s.forwardSinkRequireAckResponse,
    ackResponseTimeoutMs: s.forwardSinkAckResponseTimeoutMs,
    connectTimeoutMs: s.forwardSinkConnectTimeoutMs,
    heartbeatType: s.forwardSinkHeartbeatType,
    heartbeatIntervalMs: s.forwardSinkHeartbeatIntervalMs,
    downAfterFailures: s.forwardSinkDownAfterFailures,
    upAfterHeartbeats: s.forwardSinkUpAfterHeartbeats,
    compress: s.forwardSinkCompress,
    tls,
    auth,
    idKey: s.forwardSinkIdKey || null,
    replication: fleetId !== '' && pathKey !== '' ? Object.freeze({ fleetId, pathKey }) : null,
    excludeFleets,
  });
}

/**
 * `host:port[:weight][:standby],…`; an IPv6 host goes in brackets (`[::1]:24224:60:standby`). Appends a problem
 * per bad entry and returns the good ones; at least one server is required.
 */
export function parseServerList(text: string, problems: string[]): ForwardServer[] {
  const servers: ForwardServer[] = [];
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0)
    problems.push(`${SERVERS_KEY}: the forward sink needs at least one server (host:port[:weight][:standby])`);
  for (const entry of entries) {
    const server = parseServer(entry);
    if (typeof server === 'string') problems.push(`${SERVERS_KEY}: "${entry}": ${server}`);
    else if (servers.some((x) => x.label === server.label)) problems.push(`${SERVERS_KEY}: "${entry}": listed twice`);
    else servers.push(server);
  }
  return servers;
}

function parseServer(entry: string): ForwardServer | string {
  let host: string;
  let rest: string[];
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0 || entry[close + 1] !== ':') return 'expected [ipv6]:port';
    host = entry.slice(1, close);
    rest = entry.slice(close + 2).split(':');
  } else {
    [host = '', ...rest] = entry.split(':');
  }
  if (!/^[A-Za-z0-9._:-]+$/.test(host)) return 'bad host';
  const [portText = '', ...flags] = rest;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return 'expected a port 1..65535 after the host';
  let weight = DEFAULT_WEIGHT;
  let standby = false;
  for (const flag of flags) {
    if (flag === 'standby') standby = true;
    else if (/^\d+$/.test(flag) && Number(flag) >= 1 && Number(flag) <= 1000) weight = Number(flag);
    else return `"${flag}" is neither a weight (1..1000) nor "standby"`;
  }
  const label = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return Object.freeze({ host, port, weight, standby, label });
}
