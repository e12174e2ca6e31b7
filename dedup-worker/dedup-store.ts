import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { NewEventBatch } from '../shared/batch-codec.js';
import { keyHexAt, newBatchId } from '../shared/batch-codec.js';
import { parseOccurrences, type PartitionDecision } from './batch-decision.js';
import { batchRecordKeyName, chunkIndexOfEvents, chunkKeyName, dedupKeyNameOfHex, groupByPartition } from './partitioning.js';

// Read from next to the compiled module: the build copies the .lua files into dist/ (and the image).
const DEDUP_BATCH_LUA = readFileSync(new URL('./lua/dedup-batch.lua', import.meta.url), 'utf8');

type DedupBatchReply = [reused: number, decisions: string, published: number, chunkResends: number];
interface DedupCommands {
  dedupBatch(...args: (string | number)[]): Promise<DedupBatchReply>;
}

export interface DedupStoreOptions {
  readonly namespace: string;
  readonly partitions: number;
  readonly windowMs: number;
}

/** The dedup state in Redis: one script call per (batch, partition), all of a batch's calls pipelined. */
export class DedupStore {
  private readonly redis: Redis & DedupCommands;

  constructor(redis: Redis, private readonly options: DedupStoreOptions) {
    redis.defineCommand('dedupBatch', { lua: DEDUP_BATCH_LUA });
    this.redis = redis as Redis & DedupCommands;
  }

  async decide(batch: NewEventBatch): Promise<PartitionDecision[]> {
    const batchId = newBatchId(batch);
    const { namespace, windowMs } = this.options;
    // The batch record outlives the dedup keys it describes, so a late redelivery still finds its decisions.
    const recordTtlMs = windowMs * 2;
    const chunkOf = batch.chunks && batch.chunks.length > 0 ? chunkIndexOfEvents(batch) : null;
    const calls = [...groupByPartition(batch, this.options.partitions)].map(async ([partition, indices]) => {
      const keys = [batchRecordKeyName(namespace, partition, batchId), ...indices.map((i) => dedupKeyNameOfHex(namespace, partition, keyHexAt(batch, i)))];
      // The chunks with events in this partition, each once, and per event its 1-based slot among them (0: none).
      const slotOfChunk = new Map<number, number>();
      const slots = chunkOf === null ? [] : indices.map((i) => {
        const ci = chunkOf[i]!;
        if (ci < 0) return 0;
        let slot = slotOfChunk.get(ci);
        if (slot === undefined) {
          slot = slotOfChunk.size + 1;
          slotOfChunk.set(ci, slot);
          keys.push(chunkKeyName(namespace, partition, batch.chunks![ci]!.id));
        }
        return slot;
      });
      const chunkArgs = slotOfChunk.size > 0 ? [slotOfChunk.size, slots.join(',')] : [0];
      const [reused, encoded, published, chunkResends] = await this.redis.dedupBatch(
        keys.length, ...keys, batch.receiverId, windowMs, recordTtlMs, batchId, ...chunkArgs,
      );
      return {
        partition, indices, occurrences: parseOccurrences(encoded, indices.length), reused: reused === 1, published: published === 1,
        chunkResends: Number(chunkResends ?? 0),
      };
    });
    return Promise.all(calls);
  }

  /** After the publisher confirm: a later redelivery of this batch needs to publish nothing. */
  async markPublished(batch: NewEventBatch, decisions: readonly PartitionDecision[]): Promise<void> {
    const batchId = newBatchId(batch);
    const pipeline = this.redis.pipeline();
    for (const d of decisions) pipeline.hset(batchRecordKeyName(this.options.namespace, d.partition, batchId), 'p', '1');
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
