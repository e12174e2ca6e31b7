import { encodeBody, type ProcessedBatch } from '../shared/batch-codec.js';
import type { EventEnvelope } from '../shared/envelope.js';

/** A realistic RFC 5424 event as the receivers build it (about 220 bytes of message, structured data). */
export function syslogEvent(i: number, receivedAt: number, over: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    tag: 'syslog.auth.info',
    time: new Date(receivedAt - 3).toISOString(),
    received_at: receivedAt,
    receiver: i % 2 === 0 ? 'a' : 'b',
    source: `10.0.${(i >> 8) & 255}.${i & 255}`,
    transport: 'tcp',
    format: 'rfc5424',
    message: `Accepted publickey for deploy from 192.0.2.${i % 250} port ${40000 + (i % 20000)} ssh2: ED25519 SHA256:u3Q2aVqkzC9nZC1kZXBsb3kta2V5LWZvci10ZXN0aW5n seq=${i}`,
    facility: 'auth',
    severity: 'info',
    hostname: `web${i % 16}`,
    app_name: 'sshd',
    proc_id: String(1000 + (i % 5000)),
    msg_id: 'LOGIN',
    structured_data: {
      'origin@48577': { ip: `10.1.${i & 255}.1`, software: 'rsyslogd' },
      'meta@48577': { sequenceId: String(i) },
    },
    ...over,
  };
}

/** A forward event with a nested record. */
export function forwardEvent(i: number, receivedAt: number, record: Record<string, unknown> = {}): EventEnvelope {
  return {
    tag: 'app.web.access',
    time: new Date(receivedAt - 5).toISOString(),
    received_at: receivedAt,
    receiver: 'a',
    source: '10.0.0.8',
    transport: 'forward',
    format: 'forward',
    message: null,
    record: {
      method: 'GET',
      path: `/items/${i}`,
      status: 200 + (i % 3),
      bytes: 512 + i,
      user: { id: i % 97, plan: 'pro' },
      ...record,
    },
  };
}

/** `count` events in one processed batch, ids `<prefix>-<n>-1` (unique per prefix). */
export function processedBatch(prefix: string, count: number, receivedAt: number, make = syslogEvent): ProcessedBatch {
  const ids: string[] = [];
  const bodies: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    ids.push(`${prefix}-${n}-1`);
    bodies.push(encodeBody(make(n, receivedAt + (n % 7))));
  }
  return { sourceBatchId: `${prefix}:boot:1`, ids, bodies };
}
