/**
 * Compact event bodies: a syslog envelope as a msgpack array `[schema, value…]` whose field names are implied by the
 * schema, instead of a map that spells every name out. The names were a large share of a syslog body, and every
 * body crosses the broker three times (two copies in, one out) and is written by the receiver and read by the
 * uploader: smaller bodies cost RabbitMQ, receivers and uploaders less (bench/README.md).
 *
 * A compact body decodes (batch-codec decodeBody) to exactly the envelope object the map form held, with the same
 * keys in the same order, so sinks write the same lines. Map bodies (Forward, HTTP, and syslog bodies of earlier
 * versions still in a queue or spool) are read as before. Schemas are append-only: a number is never reused.
 *
 * A syslog body may carry one more value after the schema's fields: the frame's bytes as the device sent them
 * (receiver.syslogKeepRaw). It is no envelope field (sinks that write envelopes never see it); only the syslog sink
 * reads it, with compactRawFrame, to hand the line on byte for byte.
 */
import type { EventEnvelope } from './envelope.js';

/** Schema 1: a syslog line that parsed (RFC 5424 or RFC 3164). */
export const PARSED_SYSLOG_SCHEMA = 1;
/** Schema 2: a syslog line kept raw with the reason it did not parse. */
export const RAW_SYSLOG_SCHEMA = 2;

export const COMPACT_BODY_FIELDS: Readonly<Record<number, readonly (keyof EventEnvelope)[]>> = {
  [PARSED_SYSLOG_SCHEMA]: [
    'tag',
    'time',
    'received_at',
    'receiver',
    'source',
    'transport',
    'format',
    'message',
    'facility',
    'severity',
    'hostname',
    'app_name',
    'proc_id',
    'msg_id',
    'structured_data',
  ],
  [RAW_SYSLOG_SCHEMA]: [
    'tag',
    'time',
    'received_at',
    'receiver',
    'source',
    'transport',
    'format',
    'message',
    'parse_error',
  ],
};

export class CompactBodyError extends Error {
  override readonly name = 'CompactBodyError';
}

/** The envelope a decoded compact body stands for; throws CompactBodyError for an unknown schema or arity. */
export function expandCompactBody(values: readonly unknown[]): Record<string, unknown> {
  const schema = values[0];
  const fields = typeof schema === 'number' ? COMPACT_BODY_FIELDS[schema] : undefined;
  if (!fields) throw new CompactBodyError(`unknown compact body schema ${String(schema)}`);
  if (
    values.length !== fields.length + 1 &&
    !(values.length === fields.length + 2 && values[fields.length + 1] instanceof Uint8Array)
  ) {
    throw new CompactBodyError(
      `compact body schema ${String(schema)} has ${fields.length} fields, got ${values.length - 1}`,
    );
  }
  const envelope: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) envelope[fields[i]!] = values[i + 1];
  return envelope;
}

/** The frame bytes a compact body carries after its fields (receiver.syslogKeepRaw), or null when it carries none. */
export function compactRawFrame(values: readonly unknown[]): Uint8Array | null {
  const schema = values[0];
  const fields = typeof schema === 'number' ? COMPACT_BODY_FIELDS[schema] : undefined;
  if (!fields || values.length !== fields.length + 2) return null;
  const raw = values[fields.length + 1];
  return raw instanceof Uint8Array ? raw : null;
}
