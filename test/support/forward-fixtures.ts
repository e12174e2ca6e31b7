import { Registry } from 'prom-client';
import { encodeBody, type ProcessedBatch } from '../../shared/batch-codec.js';
import type { EventEnvelope } from '../../shared/envelope.js';
import type { ForwardSinkSettings } from '../../uploader/forward-sink/forward-sink-config.js';

export const syslogEnvelope = (over: Partial<EventEnvelope> = {}): EventEnvelope => ({
  tag: 'syslog.auth.warn',
  time: '2026-03-01T10:20:30.123456Z',
  received_at: 1772360431000,
  receiver: 'a',
  source: '10.0.0.7',
  transport: 'udp',
  format: 'rfc5424',
  message: 'login failed',
  facility: 'auth',
  severity: 'warn',
  hostname: 'web1',
  app_name: 'sshd',
  proc_id: '4242',
  msg_id: 'ID47',
  structured_data: { 'ex@1': { a: '1' } },
  ...over,
});

export const forwardEnvelope = (record: Record<string, unknown>, over: Partial<EventEnvelope> = {}): EventEnvelope => ({
  tag: 'app.web',
  time: '2026-03-01T10:20:30.000000001Z',
  received_at: 1772360431500,
  receiver: 'b',
  source: '10.0.0.8',
  transport: 'forward',
  format: 'forward',
  message: null,
  record,
  ...over,
});

export function batchOf(sourceBatchId: string, events: [string, EventEnvelope | Uint8Array][]): ProcessedBatch {
  return {
    sourceBatchId,
    ids: events.map(([id]) => id),
    bodies: events.map(([, e]) => (e instanceof Uint8Array ? e : encodeBody(e))),
  };
}

export function sinkSettings(servers: string, over: Partial<ForwardSinkSettings> = {}): ForwardSinkSettings {
  return {
    forwardSinkServers: servers,
    forwardSinkRequireAckResponse: true,
    forwardSinkAckResponseTimeoutMs: 2000,
    forwardSinkConnectTimeoutMs: 1000,
    forwardSinkHeartbeatType: 'tcp',
    forwardSinkHeartbeatIntervalMs: 50,
    forwardSinkDownAfterFailures: 2,
    forwardSinkUpAfterHeartbeats: 2,
    forwardSinkCompress: 'text',
    forwardSinkTls: false,
    forwardSinkTlsCaFile: '',
    forwardSinkTlsInsecure: false,
    forwardSinkSharedKey: '',
    forwardSinkSelfHostname: 'fanin-test',
    forwardSinkUsername: '',
    forwardSinkPassword: '',
    forwardSinkIdKey: 'fanin_id',
    ...over,
  };
}

/** Sum of a metric's values whose labels include `labels`. */
export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
}
