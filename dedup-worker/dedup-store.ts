import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { NewEventBatch } from '../shared/batch-codec.js';
import { keyAt, newBatchId } from '../shared/batch-codec.js';
import { parseOccurrences, type PartitionDecision } from './batch-decision.js';
import { batchRecordKeyName, dedupKeyName, groupByPartition } from './partitioning.js';

// Read from next to the compiled module: the build copies the .lua files into dist/ (and the image).
const DEDUP_BATCH_LUA = readFileSync(new URL('./lua/dedup-batch.lua', import.meta.url), 'utf8');

type DedupBatchReply = [reused: number, decisions: string, published: number];
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
    const calls = [...groupByPartition(batch, this.options.partitions)].map(async ([partition, indices]) => {
      const keys = [batchRecordKeyName(namespace, partition, batchId), ...indices.map((i) => dedupKeyName(namespace, partition, keyAt(batch, i)))];
      const [reused, encoded, published] = await this.redis.dedupBatch(keys.length, ...keys, batch.receiverId, windowMs, recordTtlMs);
      return { partition, indices, occurrences: parseOccurrences(encoded, indices.length), reused: reused === 1, published: published === 1 };
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
