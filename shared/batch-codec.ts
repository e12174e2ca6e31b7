import { Decoder, Encoder } from '@msgpack/msgpack';
import { EVENT_KEY_BYTES } from './event-key.js';

/**
 * The two messages that cross the broker, each one msgpack array per AMQP message (batches, never single events:
 * DESIGN §1). Events travel as opaque pre-encoded bodies so a worker never decodes them, only their keys.
 *
 *   new batch:       [1, receiverId, bootId, seq, keys (bin, count × 16 bytes), [body (bin), …]]
 *   processed batch: [1, sourceBatchId, [id, …], [body (bin), …]]
 */
const NEW_BATCH_VERSION = 1;
const PROCESSED_BATCH_VERSION = 1;

/** Limits for decoding untrusted bytes: a batch is at most a few MiB, never gigabytes. */
const decoder = new Decoder({
  maxStrLength: 16 * 1024 * 1024, maxBinLength: 64 * 1024 * 1024, maxArrayLength: 1_000_000, maxMapLength: 100_000,
});
const encoder = new Encoder();

export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
  readonly code = 'BATCH_UNDECODABLE';
}

export interface NewEventBatch {
  readonly receiverId: string;
  /** Random per receiver start: (receiverId, bootId, seq) names a batch uniquely across restarts. */
  readonly bootId: string;
  readonly seq: number;
  /** count × EVENT_KEY_BYTES: the dedup key of each event, in order. */
  readonly keys: Uint8Array;
  readonly bodies: readonly Uint8Array[];
}

export interface ProcessedBatch {
  readonly sourceBatchId: string;
  readonly ids: readonly string[];
  readonly bodies: readonly Uint8Array[];
}

export function newBatchId(b: Pick<NewEventBatch, 'receiverId' | 'bootId' | 'seq'>): string {
  return `${b.receiverId}:${b.bootId}:${b.seq}`;
}

export function keyAt(batch: NewEventBatch, index: number): Uint8Array {
  return batch.keys.subarray(index * EVENT_KEY_BYTES, (index + 1) * EVENT_KEY_BYTES);
}

export function encodeNewEventBatch(b: NewEventBatch): Buffer {
  const bytes = encoder.encode([NEW_BATCH_VERSION, b.receiverId, b.bootId, b.seq, b.keys, b.bodies]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeNewEventBatch(bytes: Uint8Array): NewEventBatch {
  const v = decodeArray(bytes, 6, 'new batch');
  const [version, receiverId, bootId, seq, keys, bodies] = v;
  if (version !== NEW_BATCH_VERSION) throw new BatchDecodeError(`new batch: unsupported version ${String(version)}`);
  if (typeof receiverId !== 'string' || typeof bootId !== 'string') throw new BatchDecodeError('new batch: bad receiver or boot id');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new BatchDecodeError('new batch: bad sequence');
  if (!(keys instanceof Uint8Array)) throw new BatchDecodeError('new batch: keys are not binary');
  if (!isBinaryArray(bodies)) throw new BatchDecodeError('new batch: bodies are not an array of binary');
  if (keys.byteLength !== bodies.length * EVENT_KEY_BYTES) {
    throw new BatchDecodeError(`new batch: ${keys.byteLength} key bytes for ${bodies.length} events`);
  }
  return { receiverId, bootId, seq, keys, bodies };
}

export function encodeProcessedBatch(b: ProcessedBatch): Buffer {
  const bytes = encoder.encode([PROCESSED_BATCH_VERSION, b.sourceBatchId, b.ids, b.bodies]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeProcessedBatch(bytes: Uint8Array): ProcessedBatch {
  const [version, sourceBatchId, ids, bodies] = decodeArray(bytes, 4, 'processed batch');
  if (version !== PROCESSED_BATCH_VERSION) throw new BatchDecodeError(`processed batch: unsupported version ${String(version)}`);
  if (typeof sourceBatchId !== 'string') throw new BatchDecodeError('processed batch: bad source batch id');
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new BatchDecodeError('processed batch: bad ids');
  if (!isBinaryArray(bodies) || bodies.length !== ids.length) throw new BatchDecodeError('processed batch: bodies do not match ids');
  return { sourceBatchId, ids, bodies };
}

export function encodeBody(value: unknown): Uint8Array {
  return encoder.encode(value); // a copy of the encoder's buffer: the body outlives the next call
}

export function decodeBody(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

function decodeArray(bytes: Uint8Array, length: number, what: string): unknown[] {
  let value: unknown;
  try { value = decoder.decode(bytes); } catch (err) {
    throw new BatchDecodeError(`${what}: not msgpack: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.length !== length) throw new BatchDecodeError(`${what}: not an array of ${length}`);
  return value as unknown[];
}

function isBinaryArray(v: unknown): v is Uint8Array[] {
  return Array.isArray(v) && v.every((x) => x instanceof Uint8Array);
}
