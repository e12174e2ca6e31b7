import type { NewEventBatch } from '../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../shared/event-key.js';

/**
 * Redis Cluster lets one script touch keys of one hash slot only, so every dedup key carries a hash tag naming its
 * partition, derived from the content hash (docs/design.md §3). One partition on a single Redis: one script call per batch.
 */
export function partitionOf(key: Uint8Array, partitions: number): number {
  if (partitions === 1) return 0;
  return ((key[0]! << 8) | key[1]!) % partitions;
}

export function dedupKeyNameOfHex(namespace: string, partition: number, keyHex: string): string {
  return `${namespace}:{p${partition}}:e:${keyHex}`;
}

/**
 * The key of an event replicated from another fleet (its key is the hash of its original id): one string, the
 * receiver that delivered it first. Apart from the counted keys (`e:`) because it is decided another way: the first
 * arrival wins, whichever receiver and path it came by (docs/replication.md).
 */
export function replicaKeyNameOfHex(namespace: string, partition: number, keyHex: string): string {
  return `${namespace}:{p${partition}}:r:${keyHex}`;
}

/**
 * A sender chunk's key at one receiver (Forward chunk id, hashed by the receiver): its value is the batch that
 * delivered it first to that receiver. Scoped by receiver because a forwarder may give one chunk the same id in every
 * output (Fluent Bit does): the copy at another receiver is a fan-out copy, which the per-event counts decide, while
 * the same chunk twice at one receiver is a resend after a lost ack, which they would take for a real repeat
 * (docs/design.md §3). The receiver id follows the hash tag, so it does not move the key to another slot.
 */
export function chunkKeyName(namespace: string, partition: number, receiverId: string, chunkId: Uint8Array): string {
  return `${namespace}:{p${partition}}:c:${receiverId}:${Buffer.from(chunkId.buffer, chunkId.byteOffset, chunkId.byteLength).toString('hex')}`;
}

export function batchRecordKeyName(namespace: string, partition: number, batchId: string): string {
  return `${namespace}:{p${partition}}:b:${batchId}`;
}

/** For each event of the batch, the index of the chunk range holding it in `batch.chunks`, or -1. */
export function chunkIndexOfEvents(batch: NewEventBatch): Int32Array {
  const out = new Int32Array(batch.bodies.length).fill(-1);
  (batch.chunks ?? []).forEach((c, ci) => out.fill(ci, c.first, c.end));
  return out;
}

/**
 * Event indices of a batch grouped by partition, each group in batch order. Reads each key's first two bytes in
 * place (partitionOf's rule) rather than through a view per event: a worker groups every event of every batch.
 */
export function groupByPartition(batch: NewEventBatch, partitions: number): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  const { keys } = batch;
  for (let i = 0; i < batch.bodies.length; i++) {
    const at = i * EVENT_KEY_BYTES;
    const p = partitions === 1 ? 0 : ((keys[at]! << 8) | keys[at + 1]!) % partitions;
    const group = groups.get(p);
    if (group) group.push(i);
    else groups.set(p, [i]);
  }
  return groups;
}
