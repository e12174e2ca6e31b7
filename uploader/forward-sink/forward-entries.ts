import { createHash } from 'node:crypto';
import { Encoder, ExtData } from '@msgpack/msgpack';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { EventEnvelope } from '../../shared/envelope.js';
import { decodeEvent } from '../decoded-events.js';

/** Events whose body is not an envelope are forwarded under this tag with the reason, never dropped silently. */
export const REJECTED_TAG = 'fanin.rejected';

/**
 * The events of one processed batch that share a tag: one PackedForward message. Grouping per batch (not per
 * write) keeps `chunkId` identical when the batch is redelivered and gathered with different neighbours, so a
 * receiver that remembers chunk ids (fanin's own) drops the resend whole.
 */
export interface ForwardChunk {
  readonly tag: string;
  /** base64 of 16 bytes derived from the tag and the event ids: the same events always give the same id. */
  readonly chunkId: string;
  readonly count: number;
  /** The MessagePackEventStream: concatenated `[EventTime, record]` entries. */
  readonly entries: Buffer;
  /** Receipt times of the events that were envelopes (latency histogram). */
  readonly receivedAt: readonly number[];
  readonly rejected: number;
}

/** Replication on the way out (docs/replication.md): what the records carry and which events stay home. */
export interface ChunkReplication {
  /** This fleet's id and the record key of the path; null sends no path. */
  readonly path: { readonly fleetId: string; readonly key: string } | null;
  /** An event whose path holds one of these fleets is left out. */
  readonly exclude: ReadonlySet<string>;
}

const NO_REPLICATION: ChunkReplication = { path: null, exclude: new Set() };

const encoder = new Encoder({ ignoreUndefined: true });

/**
 * Pure: processed batches to chunks, in order. `excluded` counts the events left out by `replication.exclude`
 * (a batch whose events are all excluded gives no chunk).
 */
export function buildChunks(
  batches: readonly ProcessedBatch[],
  idKey: string | null,
  now = Date.now(),
  replication: ChunkReplication = NO_REPLICATION,
  excluded: { count: number } = { count: 0 },
): ForwardChunk[] {
  const chunks: ForwardChunk[] = [];
  for (const batch of batches) {
    const groups = new Map<string, { ids: string[]; entries: Uint8Array[]; receivedAt: number[]; rejected: number }>();
    batch.ids.forEach((id, i) => {
      const body = batch.bodies[i]!;
      const decoded = decodeEvent(id, body);
      let tag: string;
      let entry: Uint8Array;
      let event: EventEnvelope | null = null;
      if ('envelope' in decoded) {
        event = decoded.envelope;
        const passed = event.fleet_path ?? [];
        if (replication.exclude.size > 0 && passed.some((f) => replication.exclude.has(f))) {
          excluded.count++;
          return;
        }
        tag = event.tag;
        const record = recordOf(event, id, idKey);
        if (replication.path !== null) record[replication.path.key] = [...passed, replication.path.fleetId];
        entry = encoder.encode([eventTimeOf(event), record]);
      } else {
        tag = REJECTED_TAG;
        const record = {
          [idKey ?? 'fanin_id']: id,
          reason: decoded.reason,
          body_base64: Buffer.from(body).toString('base64'),
        };
        entry = encoder.encode([eventTime(Math.floor(now / 1000), (now % 1000) * 1e6), record]);
      }
      let group = groups.get(tag);
      if (!group) {
        group = { ids: [], entries: [], receivedAt: [], rejected: 0 };
        groups.set(tag, group);
      }
      group.ids.push(id);
      group.entries.push(entry);
      if (event) group.receivedAt.push(event.received_at);
      else group.rejected++;
    });
    for (const [tag, g] of groups) {
      chunks.push({
        tag,
        chunkId: chunkIdFor(tag, g.ids),
        count: g.ids.length,
        entries: Buffer.concat(g.entries),
        receivedAt: g.receivedAt,
        rejected: g.rejected,
      });
    }
  }
  return chunks;
}

export function chunkIdFor(tag: string, ids: readonly string[]): string {
  const h = createHash('sha256').update('fanin-forward-chunk\0').update(tag).update('\0');
  for (const id of ids) h.update(id).update('\n');
  return h.digest().subarray(0, 16).toString('base64');
}

/** EventTime (ext type 0): seconds and nanoseconds, each uint32 big-endian. */
export function eventTime(seconds: number, nanoseconds: number): ExtData {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(seconds, 0);
  b.writeUInt32BE(nanoseconds, 4);
  return new ExtData(0, b);
}

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?(Z|[+-]\d{2}:?\d{2})$/;

/** Seconds and nanoseconds of an ISO 8601 time, keeping all nine fraction digits; null when unusable. */
export function parseIsoTime(iso: string): { seconds: number; nanoseconds: number } | null {
  const m = ISO.exec(iso);
  if (!m) return null;
  const ms = Date.parse(m[1]! + m[3]!);
  if (!Number.isFinite(ms)) return null;
  const seconds = ms / 1000;
  if (seconds < 0 || seconds > 0xffffffff) return null;
  return { seconds, nanoseconds: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** The sender's event time; the receipt time when the sender gave none (or one EventTime cannot hold). */
export function eventTimeOf(e: EventEnvelope): ExtData {
  const t = e.time === null ? null : parseIsoTime(e.time);
  if (t) return eventTime(t.seconds, t.nanoseconds);
  return eventTime(Math.floor(e.received_at / 1000), (e.received_at % 1000) * 1e6);
}

/**
 * Forward and HTTP events keep their record; syslog events get a record shaped like fluentd in_syslog's
 * (host, ident, pid, msgid, message) plus what fanin parsed. The event id is added under `idKey`.
 */
export function recordOf(e: EventEnvelope, id: string, idKey: string | null): Record<string, unknown> {
  let record: Record<string, unknown>;
  if (e.format === 'forward' || e.format === 'http') {
    const r = e.record;
    record =
      typeof r === 'object' && r !== null && !Array.isArray(r) && !(r instanceof Uint8Array)
        ? { ...(r as Record<string, unknown>) }
        : { message: r ?? e.message };
  } else if (e.format === 'raw') {
    record = compact({ message: e.message, parse_error: e.parse_error, source_address: e.source });
  } else {
    record = compact({
      host: e.hostname,
      ident: e.app_name,
      pid: e.proc_id,
      msgid: e.msg_id,
      message: e.message,
      facility: e.facility,
      severity: e.severity,
      structured_data: e.structured_data,
      format: e.format,
      source_address: e.source,
    });
  }
  if (idKey !== null) record[idKey] = id;
  return record;
}

function compact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}
