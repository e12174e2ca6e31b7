import { createHash } from 'node:crypto';
import type { DecodedEvent, RejectedBody } from '../decoded-events.js';
import { rejectedLine } from '../decoded-events.js';
import { formatEventLine } from '../ndjson/ndjson-line.js';
import type { FileNamePattern } from '../ndjson/path-pattern.js';

/**
 * Request bodies of the HTTP sink and the reading of `_bulk` answers. Pure: tested without sockets.
 *
 * The Idempotency-Key is derived from the event ids alone, so the same processed batch gets the same key on every
 * retry, after an uploader restart, and when a worker republishes it (same ids): a server that remembers keys can
 * drop the repeat whole, and every line carries its `id` for servers that dedupe per event.
 */
export function idempotencyKey(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(id).update('\n');
  return h.digest('hex').slice(0, 32);
}

/** NDJSON mode: the file sink's lines (docs/design.md §5), then any undecodable body as its `rejected.ndjson` line. */
export function ndjsonBody(events: readonly DecodedEvent[], rejected: readonly RejectedBody[]): string {
  let out = '';
  for (const e of events) out += formatEventLine(e.id, e.envelope);
  for (const r of rejected) out += rejectedLine(r);
  return out;
}

/** Bulk mode: `create` with `_id` = event id, so a replayed event answers 409 instead of indexing a copy. */
export function bulkBody(events: readonly DecodedEvent[], index: FileNamePattern): string {
  let out = '';
  for (const e of events) {
    out += JSON.stringify({ create: { _index: index.format(e.envelope.received_at), _id: e.id } }) + '\n';
    out += formatEventLine(e.id, e.envelope);
  }
  return out;
}

export interface BulkOutcome {
  readonly created: number;
  /** 409 on create: the document is already there (a replay), which is success. */
  readonly conflicts: number;
  /** Items answered 429 or 5xx: the whole request is sent again (the created ones then answer 409). */
  readonly retryable: number;
  /** Items answered another 4xx (a mapping error…): retrying cannot fix them. */
  readonly permanent: number;
  /** The first failure, for the error message. */
  readonly firstError: string | null;
}

/** Reads a `_bulk` response (Elasticsearch and OpenSearch answer alike). Throws if it is not one. */
export function readBulkResponse(text: string, expectedItems: number): BulkOutcome {
  const body = JSON.parse(text) as { errors?: unknown; items?: unknown };
  if (!Array.isArray(body.items)) throw new Error('not a _bulk response (no items)');
  if (body.items.length !== expectedItems)
    throw new Error(`_bulk answered ${body.items.length} items for ${expectedItems} documents`);
  let created = 0;
  let conflicts = 0;
  let retryable = 0;
  let permanent = 0;
  let firstError: string | null = null;
  for (const item of body.items as Record<
    string,
    { status?: unknown; error?: { type?: unknown; reason?: unknown } }
  >[]) {
    const result = item.create ?? Object.values(item)[0];
    const status = typeof result?.status === 'number' ? result.status : 0;
    if (status >= 200 && status < 300) {
      created++;
      continue;
    }
    if (status === 409) {
      conflicts++;
      continue;
    }
    if (status === 429 || status >= 500 || status === 0) retryable++;
    else permanent++;
    firstError ??= `${status} ${describe(result?.error?.type)}: ${describe(result?.error?.reason)}`;
  }
  return { created, conflicts, retryable, permanent, firstError };
}

const describe = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
