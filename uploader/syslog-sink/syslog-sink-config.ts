import { readFileSync } from 'node:fs';
import { ConfigError } from '../../shared/config/config-error.js';
import type { Framing } from './syslog-framing.js';
import type { PayloadOptions } from './syslog-payload.js';
import { priValue } from './syslog-payload.js';
import { syslogSinkSettingSpecs, type SyslogSinkSettings } from './settings.js';
import type { StreamTls } from './syslog-stream-client.js';

export interface SyslogServer {
  readonly host: string;
  readonly port: number;
  /** "host:port" as configured: logs and the `server` metric label. */
  readonly label: string;
}

export interface SyslogSinkOptions {
  /** In order of preference: the first that is up takes the events. */
  readonly servers: readonly SyslogServer[];
  readonly transport: 'tcp' | 'tls' | 'udp';
  readonly framing: Framing;
  readonly tls: StreamTls | null;
  readonly payload: PayloadOptions;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly udpMaxBytes: number;
}

/** Where an operator sets a syslog sink setting, for error messages (a named sink's option, or the block's key). */
export type KeyOf = (setting: keyof SyslogSinkSettings) => string;

const defaultKeyOf: KeyOf = (setting) => syslogSinkSettingSpecs[setting].key;

/** Validates once at start-up and freezes; every problem is reported with the key that causes it. */
export function syslogSinkOptionsFromSettings(s: SyslogSinkSettings, keyOf: KeyOf = defaultKeyOf): SyslogSinkOptions {
  const problems: string[] = [];
  const servers = parseServers(s.syslogSinkServers, keyOf('syslogSinkServers'), problems);
  let tls: StreamTls | null = null;
  const read = (file: string, setting: keyof SyslogSinkSettings): Buffer | null => {
    if (file === '') return null;
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push(`${keyOf(setting)}: cannot read ${file}: ${(err as Error).message}`);
      return null;
    }
  };
  const tlsFiles = [s.syslogSinkTlsCaFile, s.syslogSinkTlsCertFile, s.syslogSinkTlsKeyFile].some((f) => f !== '');
  if (s.syslogSinkTransport === 'tls') {
    if ((s.syslogSinkTlsCertFile === '') !== (s.syslogSinkTlsKeyFile === '')) {
      problems.push(
        `${keyOf('syslogSinkTlsCertFile')}: a client certificate needs its key (${keyOf('syslogSinkTlsKeyFile')}), and a key its certificate`,
      );
    }
    tls = {
      ca: read(s.syslogSinkTlsCaFile, 'syslogSinkTlsCaFile'),
      cert: read(s.syslogSinkTlsCertFile, 'syslogSinkTlsCertFile'),
      key: read(s.syslogSinkTlsKeyFile, 'syslogSinkTlsKeyFile'),
      serverName: s.syslogSinkTlsServerName === '' ? null : s.syslogSinkTlsServerName,
      insecure: s.syslogSinkTlsInsecure,
    };
    if (s.syslogSinkFraming !== 'octet-counting')
      problems.push(`${keyOf('syslogSinkFraming')}: RFC 5425 allows only octet-counting over TLS`);
  } else if (tlsFiles) {
    problems.push(
      `${keyOf('syslogSinkTransport')}: TLS files are set but the transport is ${s.syslogSinkTransport}; set it to tls or clear them`,
    );
  }
  if (s.syslogSinkRetryInitialDelayMs > s.syslogSinkRetryMaxDelayMs) {
    problems.push(`${keyOf('syslogSinkRetryInitialDelayMs')}: larger than ${keyOf('syslogSinkRetryMaxDelayMs')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    servers,
    transport: s.syslogSinkTransport,
    framing: s.syslogSinkFraming,
    tls: tls ? Object.freeze(tls) : null,
    payload: Object.freeze({
      idSdId: s.syslogSinkIdSdId,
      rfc3164Id: s.syslogSinkRfc3164Id,
      appName: s.syslogSinkAppName,
      pri: priValue(s.syslogSinkFacility, s.syslogSinkSeverity),
    }),
    connectTimeoutMs: s.syslogSinkConnectTimeoutMs,
    writeTimeoutMs: s.syslogSinkWriteTimeoutMs,
    retryInitialDelayMs: s.syslogSinkRetryInitialDelayMs,
    retryMaxDelayMs: s.syslogSinkRetryMaxDelayMs,
    udpMaxBytes: s.syslogSinkUdpMaxBytes,
  });
}

/** `host:port,…`, IPv6 in brackets; a problem per bad entry, at least one server. */
export function parseServers(text: string, key: string, problems: string[]): SyslogServer[] {
  const servers: SyslogServer[] = [];
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) problems.push(`${key}: the syslog sink needs at least one server (host:port,…)`);
  for (const entry of entries) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) {
      problems.push(`${key}: "${entry}": expected host:port (IPv6 as [addr]:port), port 1..65535`);
      continue;
    }
    const host = m[1] ?? m[2]!;
    const label = m[1] ? `[${host}]:${port}` : `${host}:${port}`;
    if (servers.some((x) => x.label === label)) {
      problems.push(`${key}: "${entry}": listed twice`);
      continue;
    }
    servers.push(Object.freeze({ host, port, label }));
  }
  return servers;
}
