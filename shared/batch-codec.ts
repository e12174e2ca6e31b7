import { Decoder, Encoder } from '@msgpack/msgpack';
import { EVENT_KEY_BYTES, isEventId } from './event-key.js';
import { expandCompactBody } from './compact-body.js';
import { arraySize, binSize, keyIdSize, MsgpackSizedWriter, strSize, uintSize } from './msgpack-sized-writer.js';
import { packRecord } from './record-packer.js';
import { routesProblem, type EventRoutes } from './event-route.js';
import type { Disposition } from './errors/disposition.js';

/**
 * The two messages that cross the broker, each one msgpack array per AMQP message (batches, never single events:
 * docs/design.md §1). Events travel as opaque pre-encoded bodies so a worker never decodes them, only their keys.
 *
 *   new batch:       [1, receiverId, bootId, seq, keys (bin, count × 16 bytes), [body (bin), …]]
 *                    [2, receiverId, bootId, seq, keys, bodies, [[chunkId (bin), first, end], …]]
 *                    [3, receiverId, bootId, seq, keys, bodies, chunks (possibly []), [tag, …], routeKeys (bin)]
 *                    [4, receiverId, bootId, seq, keys, bodies, chunks, [tag, …] | nil, routeKeys | nil, [originId | nil, …]]
 *   processed batch: [1, sourceBatchId, [id, …], [body (bin), …]]
 *                    [2, sourceBatchId, ids, bodies, [tag, …], routeKeys (bin)]
 *
 * Version 2 adds the sender-provided retry ids (Forward chunk ids) with the range of events [first, end) each
 * covers, so the dedup script can drop a resent chunk whole. Version 3 (new) and 2 (processed) add each event's
 * route key (shared/event-route.ts), so sinks can be chosen by tag and severity without decoding bodies. Version 4
 * adds, per event, the original fanin id of an event replicated from another fleet (nil for the others): the worker
 * dedups those by that id and publishes them under it (docs/replication.md); it is written only for a batch holding
 * such an event. A batch is written in the oldest version that holds what it carries, and every older version is
 * still read (its events' routes are unknown: docs/routing.md). Upgrade uploaders, then workers, then receivers.
 */
const NEW_BATCH_VERSION = 1;
const NEW_BATCH_VERSION_CHUNKS = 2;
const NEW_BATCH_VERSION_ROUTES = 3;
const NEW_BATCH_VERSION_ORIGINS = 4;
/** Longest chunk id the codec carries (receivers send a 16-byte hash). */
const MAX_CHUNK_ID_BYTES = 64;
const PROCESSED_BATCH_VERSION = 1;
const PROCESSED_BATCH_VERSION_ROUTES = 2;

/**
 * Limits for decoding untrusted bytes: a batch is at most a few MiB, never gigabytes. @msgpack/msgpack, not msgpackr:
 * event bodies are written by record-packer.ts and read by the file sink's transcoder, so the batch envelope itself
 * is a small share of the work and a faster library for it showed no end-to-end gain (bench/README.md, "What moved
 * the number"); one msgpack library is less to keep.
 */
const decoder = new Decoder({
  maxStrLength: 16 * 1024 * 1024,
  maxBinLength: 64 * 1024 * 1024,
  maxArrayLength: 1_000_000,
  maxMapLength: 100_000,
});
const encoder = new Encoder();

/**
 * A batch whose bytes are not a batch this version reads. Disposition dead-letter: retrying cannot change the
 * bytes, so the worker or uploader sets the batch aside in `<ns>.dead` with the message (docs/errors.md).
 */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
  readonly code = 'BATCH_UNDECODABLE';
  readonly disposition: Disposition = 'dead-letter';
}

export interface NewEventBatch {
  readonly receiverId: string;
  /** Random per receiver start: (receiverId, bootId, seq) names a batch uniquely across restarts. */
  readonly bootId: string;
  readonly seq: number;
  /** count × EVENT_KEY_BYTES: the dedup key of each event, in order. */
  readonly keys: Uint8Array;
  readonly bodies: readonly Uint8Array[];
  /** Events [first, end) came as one chunk with this id; ranges ascend and do not overlap. Absent: none. */
  readonly chunks?: readonly ChunkRange[];
  /** Each event's tag and severity, as the receiver knew them. Absent: a batch of an older receiver. */
  readonly routes?: EventRoutes;
  /** Per event, the original id of an event replicated from another fleet, or null. Absent (or null): none. */
  readonly origins?: readonly (string | null)[] | null;
}

export interface ChunkRange {
  readonly id: Uint8Array;
  readonly first: number;
  readonly end: number;
}

export interface ProcessedBatch {
  readonly sourceBatchId: string;
  readonly ids: readonly string[];
  readonly bodies: readonly Uint8Array[];
  /** The events' route keys, carried over from the new batch. Absent: an older worker or receiver. */
  readonly routes?: EventRoutes;
}

export function newBatchId(b: Pick<NewEventBatch, 'receiverId' | 'bootId' | 'seq'>): string {
  return `${b.receiverId}:${b.bootId}:${b.seq}`;
}

export function keyAt(batch: NewEventBatch, index: number): Uint8Array {
  return batch.keys.subarray(index * EVENT_KEY_BYTES, (index + 1) * EVENT_KEY_BYTES);
}

const keysHex = new WeakMap<NewEventBatch, string>();

/**
 * The key of event `index` in hex. The whole batch's keys are converted once (one native call per batch, not one
 * per event: workers name a Redis key and an id for every event).
 */
export function keyHexAt(batch: NewEventBatch, index: number): string {
  let hex = keysHex.get(batch);
  if (hex === undefined) {
    hex = Buffer.from(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength).toString('hex');
    keysHex.set(batch, hex);
  }
  return hex.slice(index * EVENT_KEY_BYTES * 2, (index + 1) * EVENT_KEY_BYTES * 2);
}

export function encodeNewEventBatch(b: NewEventBatch): Buffer {
  const head = [b.receiverId, b.bootId, b.seq, b.keys];
  const chunks = (b.chunks ?? []).map((c) => [c.id, c.first, c.end]);
  if (b.origins && b.origins.some((o) => o !== null)) {
    if (b.origins.length !== b.bodies.length)
      throw new RangeError(`${b.origins.length} origins for ${b.bodies.length} events`);
    return encodeAroundBodies([NEW_BATCH_VERSION_ORIGINS, ...head], b.bodies, [
      chunks,
      b.routes?.tags ?? null,
      b.routes?.keys ?? null,
      b.origins,
    ]);
  }
  if (b.routes)
    return encodeAroundBodies([NEW_BATCH_VERSION_ROUTES, ...head], b.bodies, [chunks, b.routes.tags, b.routes.keys]);
  if (b.chunks && b.chunks.length > 0)
    return encodeAroundBodies([NEW_BATCH_VERSION_CHUNKS, ...head], b.bodies, [chunks]);
  return encodeAroundBodies([NEW_BATCH_VERSION, ...head], b.bodies, []);
}

/**
 * The msgpack array `[...head, bodies, ...tail]` exactly as the library writes it. The bodies, nearly all of a
 * batch's bytes, are copied in here with their headers (the library would walk each as a generic value, which cost
 * a receiver more per event than the copy); the few other items are encoded by the library. A msgpack array is its
 * header followed by its items' encodings, so the spliced bytes are the library's own (tested against encode()).
 */
function encodeAroundBodies(head: readonly unknown[], bodies: readonly Uint8Array[], tail: readonly unknown[]): Buffer {
  const items = head.length + 1 + tail.length;
  if (head.length > 15 || items > 15) throw new RangeError('a batch array has at most 15 items');
  // Both are fixarrays (one header byte), dropped: the batch's own header counts every item.
  const headBytes = encoder.encode(head);
  const tailBytes = encoder.encode(tail);
  const count = bodies.length;
  let size = headBytes.byteLength + arraySize(count) + tailBytes.byteLength - 1;
  for (let i = 0; i < count; i++) size += binSize(bodies[i]!.byteLength);
  const w = new MsgpackSizedWriter(Buffer.allocUnsafe(size));
  w.array(items);
  w.raw(headBytes.subarray(1));
  w.array(count);
  for (let i = 0; i < count; i++) w.bin(bodies[i]!);
  w.raw(tailBytes.subarray(1));
  return w.buffer;
}

export function decodeNewEventBatch(bytes: Uint8Array): NewEventBatch {
  // Read through a plain Uint8Array: the decoder gives each binary (every event's body) as a view of what it reads,
  // and a view of a Buffer goes through Buffer's own subarray and constructor, slower than the typed array's.
  const { buffer, byteOffset, byteLength } = bytes;
  const plain = bytes instanceof Buffer ? new Uint8Array(buffer, byteOffset, byteLength) : bytes;
  const v = decodeArray(plain, [6, 7, 9, 10], 'new batch');
  const [version, receiverId, bootId, seq, keys, bodies, chunks, routeTags, routeKeys, origins] = v;
  const expected = {
    6: NEW_BATCH_VERSION,
    7: NEW_BATCH_VERSION_CHUNKS,
    9: NEW_BATCH_VERSION_ROUTES,
    10: NEW_BATCH_VERSION_ORIGINS,
  }[v.length];
  if (version !== expected) {
    throw new BatchDecodeError(`new batch: unsupported version ${String(version)} with ${v.length} fields`);
  }
  if (typeof receiverId !== 'string' || typeof bootId !== 'string')
    throw new BatchDecodeError('new batch: bad receiver or boot id');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    throw new BatchDecodeError('new batch: bad sequence');
  if (!(keys instanceof Uint8Array)) throw new BatchDecodeError('new batch: keys are not binary');
  if (!isBinaryArray(bodies)) throw new BatchDecodeError('new batch: bodies are not an array of binary');
  if (keys.byteLength !== bodies.length * EVENT_KEY_BYTES) {
    throw new BatchDecodeError(`new batch: ${keys.byteLength} key bytes for ${bodies.length} events`);
  }
  if (v.length === 6) return { receiverId, bootId, seq, keys, bodies };
  const ranges = decodeChunkRanges(chunks, bodies.length);
  if (v.length === 7) return { receiverId, bootId, seq, keys, bodies, chunks: ranges };
  const routes =
    v.length === 10 && routeTags === null && routeKeys === null
      ? undefined
      : decodeRoutes(routeTags, routeKeys, bodies.length, 'new batch');
  const batch: NewEventBatch = {
    receiverId,
    bootId,
    seq,
    keys,
    bodies,
    ...(ranges.length > 0 ? { chunks: ranges } : {}),
    ...(routes ? { routes } : {}),
  };
  return v.length === 9 ? batch : { ...batch, origins: decodeOrigins(origins, bodies.length) };
}

function decodeRoutes(tags: unknown, keys: unknown, count: number, what: string): EventRoutes {
  const problem = routesProblem(tags, keys, count);
  if (problem !== null) throw new BatchDecodeError(`${what}: ${problem}`);
  return { tags: tags as string[], keys: keys as Uint8Array };
}

function decodeOrigins(value: unknown, count: number): (string | null)[] {
  if (!Array.isArray(value) || value.length !== count)
    throw new BatchDecodeError(`new batch: origins are not an array of ${count}`);
  return (value as unknown[]).map((o) => {
    if (o === null) return null;
    if (typeof o !== 'string' || !isEventId(o))
      throw new BatchDecodeError('new batch: an origin is not a fanin event id');
    return o;
  });
}

function decodeChunkRanges(value: unknown, count: number): ChunkRange[] {
  if (!Array.isArray(value)) throw new BatchDecodeError('new batch: chunks are not an array');
  const out: ChunkRange[] = [];
  let floor = 0;
  for (const c of value as unknown[]) {
    if (!Array.isArray(c) || c.length !== 3) throw new BatchDecodeError('new batch: a chunk is not [id, first, end]');
    const [id, first, end] = c as unknown[];
    if (!(id instanceof Uint8Array) || id.byteLength === 0 || id.byteLength > MAX_CHUNK_ID_BYTES) {
      throw new BatchDecodeError('new batch: bad chunk id');
    }
    if (
      !Number.isSafeInteger(first) ||
      !Number.isSafeInteger(end) ||
      (first as number) < floor ||
      (end as number) <= (first as number) ||
      (end as number) > count
    ) {
      throw new BatchDecodeError(
        `new batch: chunk range [${String(first)}, ${String(end)}) out of order or outside ${count} events`,
      );
    }
    out.push({ id, first: first as number, end: end as number });
    floor = end as number;
  }
  return out;
}

/**
 * Written by the worker for every batch it decides, so sized and written directly (msgpack-sized-writer.ts): the
 * same bytes as the Encoder gives for the same array.
 */
export function encodeProcessedBatch(b: ProcessedBatch): Buffer {
  const { ids, bodies, routes } = b;
  let size = arraySize(routes ? 6 : 4) + uintSize(PROCESSED_BATCH_VERSION_ROUTES) + strSize(b.sourceBatchId);
  size += arraySize(ids.length) + arraySize(bodies.length);
  for (const id of ids) size += strSize(id);
  for (const body of bodies) size += binSize(body.byteLength);
  if (routes) {
    size += arraySize(routes.tags.length) + binSize(routes.keys.byteLength);
    for (const tag of routes.tags) size += strSize(tag);
  }
  const w = new MsgpackSizedWriter(Buffer.allocUnsafe(size));
  w.array(routes ? 6 : 4);
  w.uint(routes ? PROCESSED_BATCH_VERSION_ROUTES : PROCESSED_BATCH_VERSION);
  w.str(b.sourceBatchId);
  w.array(ids.length);
  for (const id of ids) w.str(id);
  w.array(bodies.length);
  for (const body of bodies) w.bin(body);
  if (routes) {
    w.array(routes.tags.length);
    for (const tag of routes.tags) w.str(tag);
    w.bin(routes.keys);
  }
  if (w.length !== size) throw new RangeError(`processed batch: wrote ${w.length} of ${size} bytes`);
  return w.buffer;
}

export function decodeProcessedBatch(bytes: Uint8Array): ProcessedBatch {
  const v = decodeArray(bytes, [4, 6], 'processed batch');
  const [version, sourceBatchId, ids, bodies, routeTags, routeKeys] = v;
  if (version !== (v.length === 4 ? PROCESSED_BATCH_VERSION : PROCESSED_BATCH_VERSION_ROUTES))
    throw new BatchDecodeError(`processed batch: unsupported version ${String(version)}`);
  if (typeof sourceBatchId !== 'string') throw new BatchDecodeError('processed batch: bad source batch id');
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
    throw new BatchDecodeError('processed batch: bad ids');
  if (!isBinaryArray(bodies) || bodies.length !== ids.length)
    throw new BatchDecodeError('processed batch: bodies do not match ids');
  if (v.length === 4) return { sourceBatchId, ids, bodies };
  return { sourceBatchId, ids, bodies, routes: decodeRoutes(routeTags, routeKeys, bodies.length, 'processed batch') };
}

/**
 * The processed batch of a decided new batch: the events at `indices` (ascending), each with its id, the original
 * id of a replicated event or `<key hex>-<occurrence>` (eventIdOfHex), and their route keys. The same bytes as
 * encodeProcessedBatch with those ids, but the ids are written from the keys without being made as strings: a
 * worker does this for every unique event.
 */
export function encodeSelectedEvents(
  batch: NewEventBatch,
  indices: readonly number[],
  occurrences: readonly number[],
  routes: EventRoutes | undefined,
): Buffer {
  const sourceBatchId = newBatchId(batch);
  const { keys, bodies } = batch;
  const origins = batch.origins ?? null;
  const count = indices.length;
  let size = arraySize(routes ? 6 : 4) + uintSize(PROCESSED_BATCH_VERSION_ROUTES) + strSize(sourceBatchId);
  size += 2 * arraySize(count);
  for (let j = 0; j < count; j++) {
    const i = indices[j]!;
    const origin = origins === null ? null : origins[i];
    size += origin == null ? keyIdSize(EVENT_KEY_BYTES, occurrences[j]!) : strSize(origin);
    size += binSize(bodies[i]!.byteLength);
  }
  if (routes) {
    size += arraySize(routes.tags.length) + binSize(routes.keys.byteLength);
    for (const tag of routes.tags) size += strSize(tag);
  }
  const w = new MsgpackSizedWriter(Buffer.allocUnsafe(size));
  w.array(routes ? 6 : 4);
  w.uint(routes ? PROCESSED_BATCH_VERSION_ROUTES : PROCESSED_BATCH_VERSION);
  w.str(sourceBatchId);
  w.array(count);
  for (let j = 0; j < count; j++) {
    const i = indices[j]!;
    const origin = origins === null ? null : origins[i];
    if (origin == null) w.keyIdStr(keys, i * EVENT_KEY_BYTES, EVENT_KEY_BYTES, occurrences[j]!);
    else w.str(origin);
  }
  w.array(count);
  for (let j = 0; j < count; j++) w.bin(bodies[indices[j]!]!);
  if (routes) {
    w.array(routes.tags.length);
    for (const tag of routes.tags) w.str(tag);
    w.bin(routes.keys);
  }
  if (w.length !== size) throw new RangeError(`processed batch: wrote ${w.length} of ${size} bytes`);
  return w.buffer;
}

/** An event envelope's msgpack bytes: the receiver's hot path, so a flat-record writer (record-packer.ts). */
export function encodeBody(value: unknown): Uint8Array {
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    return packRecord(value);
  return encoder.encode(value); // not an envelope (tests of what sinks do with such bodies)
}

/** A body's envelope: a map as written, or a compact body expanded to the same object (compact-body.ts). */
export function decodeBody(bytes: Uint8Array): unknown {
  const value: unknown = decoder.decode(bytes);
  return Array.isArray(value) ? expandCompactBody(value) : value;
}

function decodeArray(bytes: Uint8Array, lengths: readonly number[], what: string): unknown[] {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    throw new BatchDecodeError(`${what}: not msgpack: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || !lengths.includes(value.length))
    throw new BatchDecodeError(`${what}: not an array of ${lengths.join(' or ')}`);
  return value as unknown[];
}

function isBinaryArray(v: unknown): v is Uint8Array[] {
  return Array.isArray(v) && v.every((x) => x instanceof Uint8Array);
}
