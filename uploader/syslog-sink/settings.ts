import { z } from 'zod';
import { FACILITY_NAMES as FACILITIES, SEVERITY_NAMES as SEVERITIES } from '../../shared/syslog-names.js';
import { bool, positiveInt, setting, type SettingSpec } from '../../shared/config/setting-spec.js';

/** One uploader.syslogSink.* setting: the key without its block prefix. */
function spec<T>(key: string, schema: z.ZodType<T>, defaultValue: T, doc: string): SettingSpec<T> {
  return setting(`uploader.syslogSink.${key}`, schema, defaultValue, doc);
}

export const SYSLOG_TRANSPORTS = ['tcp', 'tls', 'udp'] as const;
export const SYSLOG_FRAMINGS = ['octet-counting', 'non-transparent'] as const;
export const RFC3164_ID_MODES = ['verbatim', 'wrap'] as const;
/** Facility and severity names as the receiver writes them in envelopes: one table reads the setting and an envelope. */
export { FACILITIES, SEVERITIES };

/** RFC 5424 SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']' and '"'; an SD-ID of one's own has the form name@PEN. */
const sdId = z
  .string()
  .regex(/^(?=.{1,32}$)[!#-<>?A-\\^-~]+@\d+$/, 'an RFC 5424 SD-ID of the form name@<private enterprise number>');
/** RFC 5424 APP-NAME: 1..48 PRINTUSASCII. */
const appName = z.string().regex(/^[!-~]{1,48}$/, '1 to 48 printable US-ASCII characters, no space');

/** The uploader.syslogSink.* block: the syslog sink's settings, and the options a named syslog sink takes without the prefix. */
export const syslogSinkSettingSpecs = {
  syslogSinkServers: spec(
    'servers',
    z.string(),
    '',
    'Syslog collectors of the syslog sink, "host:port,…" (IPv6 as [addr]:port): the first that is up takes every event, the next ones are failovers.',
  ),
  syslogSinkTransport: spec(
    'transport',
    z.enum(SYSLOG_TRANSPORTS),
    'tcp',
    'tcp (RFC 6587), tls (RFC 5425) or udp (RFC 5426: one event per datagram, never acknowledged, can lose events).',
  ),
  syslogSinkFraming: spec(
    'framing',
    z.enum(SYSLOG_FRAMINGS),
    'octet-counting',
    'TCP/TLS framing: octet-counting ("LEN SP MSG", byte-exact for any event) or non-transparent (each event ends in LF; an event holding an LF arrives split, counted).',
  ),
  syslogSinkTlsCaFile: spec(
    'tlsCaFile',
    z.string(),
    '',
    "PEM file of the CAs that sign the collectors' certificates (empty: the system store).",
  ),
  syslogSinkTlsCertFile: spec(
    'tlsCertFile',
    z.string(),
    '',
    'PEM client certificate for collectors that require one (with tlsKeyFile).',
  ),
  syslogSinkTlsKeyFile: spec('tlsKeyFile', z.string(), '', 'PEM key of tlsCertFile.'),
  syslogSinkTlsServerName: spec(
    'tlsServerName',
    z.string(),
    '',
    "Name sent as SNI and checked against the collectors' certificates (empty: each server's host; an IP address is checked against the IP SANs).",
  ),
  syslogSinkTlsInsecure: spec(
    'tlsInsecure',
    bool,
    false,
    'Skip certificate and host name verification (labs only: anyone in the path can read and change the stream).',
  ),
  syslogSinkIdSdId: spec(
    'idSdId',
    sdId,
    'fanin@32473',
    'SD-ID of the structured-data element that carries the fanin event id (param "id"); 32473 is the example enterprise number of RFC 5612: put your own here.',
  ),
  syslogSinkRfc3164Id: spec(
    'rfc3164Id',
    z.enum(RFC3164_ID_MODES),
    'verbatim',
    'RFC 3164 and unparsed lines: verbatim sends them byte for byte without the id; wrap sends an RFC 5424 message with the id element and the original line as MSG.',
  ),
  syslogSinkAppName: spec(
    'appName',
    appName,
    'fanin',
    'APP-NAME of rendered (Forward, HTTP) events whose tag is empty.',
  ),
  syslogSinkFacility: spec('facility', z.enum(FACILITIES), 'user', 'Facility of rendered (Forward, HTTP) events.'),
  syslogSinkSeverity: spec('severity', z.enum(SEVERITIES), 'notice', 'Severity of rendered (Forward, HTTP) events.'),
  syslogSinkConnectTimeoutMs: spec('connectTimeoutMs', positiveInt, 5000, 'Limit of a TCP connect plus TLS handshake.'),
  syslogSinkWriteTimeoutMs: spec(
    'writeTimeoutMs',
    positiveInt,
    30_000,
    'A write whose bytes the kernel has not taken within this (the collector stopped reading) fails the connection; the events go to the next server.',
  ),
  syslogSinkRetryInitialDelayMs: spec(
    'retryInitialDelayMs',
    positiveInt,
    500,
    'Backoff ceiling of the first retry of a server that failed.',
  ),
  syslogSinkRetryMaxDelayMs: spec(
    'retryMaxDelayMs',
    positiveInt,
    30_000,
    'Longest backoff before a failed server is tried again.',
  ),
  syslogSinkUdpMaxBytes: spec(
    'udpMaxBytes',
    z.coerce.number().int().min(480).max(65507),
    65507,
    'Largest UDP datagram sent; a larger event is not sent over UDP and is counted (fanin_uploader_syslog_oversize_events_total).',
  ),
} as const;

export type SyslogSinkSettingName = keyof typeof syslogSinkSettingSpecs;
/** The settings this sink reads (a plan's settings hold them all). */
export type SyslogSinkSettings = {
  readonly [K in SyslogSinkSettingName]: (typeof syslogSinkSettingSpecs)[K]['default'];
};
