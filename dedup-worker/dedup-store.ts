import { readFileSync } from 'node:fs';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../shared/redis-client.js';
import type { NewEventBatch } from '../shared/batch-codec.js';
import { newBatchId } from '../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../shared/event-key.js';
import { parseOccurrences, type PartitionDecision } from './batch-decision.js';
import { hashSlot } from './hash-slot.js';
import { LoadedScript } from './script-call.js';
import {
  batchRecordKeyName,
  chunkIndexOfEvents,
  chunkKeyName,
  dedupKeyNameOfHex,
  groupByPartition,
  replicaKeyNameOfHex,
} from './partitioning.js';

// Read from next to the compiled module: the build copies the .lua files into dist/ (and the image).
const DEDUP_BATCH = new LoadedScript(readFileSync(new URL('./lua/dedup-batch.lua', import.meta.url), 'utf8'));

type DedupBatchReply = [reused: number, decisions: string, published: number, chunkResends: number];

export interface DedupStoreOptions {
  readonly namespace: string;
  readonly partitions: number;
  readonly windowMs: number;
  /** Replicas that must hold a batch's decisions before `decide` returns (WAIT); 0: none. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
}

/** WAIT timed out with fewer replicas than asked: the decisions may not survive a failover, so they are not acted on. */
export class ReplicationWaitError extends Error {
  override readonly name = 'ReplicationWaitError';
  readonly code = 'REDIS_WAIT_SHORT';
}

/**
 * The dedup state in Redis: one script call per (batch, partition), sent together. Not a pipeline: ioredis's Cluster
 * cannot run custom commands in a pipeline, nor one pipeline across slots, while separate calls work in every mode
 * (on one connection they are pipelined on the socket anyway). Each call is written as RESP bytes by script-call.ts,
 * the bytes ioredis's defineCommand would write: EVAL the first time on each socket and again after NOSCRIPT, so a
 * promoted replica or a flushed script cache costs one EVAL, not an error.
 */
export class DedupStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: DedupStoreOptions,
  ) {}

  async decide(batch: NewEventBatch): Promise<PartitionDecision[]> {
    const batchId = newBatchId(batch);
    const { namespace, windowMs } = this.options;
    // The batch record outlives the dedup keys it describes, so a late redelivery still finds its decisions.
    const recordTtlMs = windowMs * 2;
    const chunkOf = batch.chunks && batch.chunks.length > 0 ? chunkIndexOfEvents(batch) : null;
    const origins = batch.origins ?? null;
    const calls = [...groupByPartition(batch, this.options.partitions)].map(async ([partition, indices]) => {
      // One character per event of this partition, "1" for a replicated event (first arrival wins), "0" otherwise.
      const replicaFlags = origins === null ? '' : indices.map((i) => (origins[i] != null ? '1' : '0')).join('');
      // The chunks with events in this partition, each once, and per event its 1-based slot among them (0: none).
      const slotOfChunk = new Map<number, number>();
      const chunkKeys: string[] = [];
      const slots =
        chunkOf === null
          ? []
          : indices.map((i) => {
              const ci = chunkOf[i]!;
              if (ci < 0) return 0;
              let slot = slotOfChunk.get(ci);
              if (slot === undefined) {
                slot = slotOfChunk.size + 1;
                slotOfChunk.set(ci, slot);
                chunkKeys.push(chunkKeyName(namespace, partition, batch.receiverId, batch.chunks![ci]!.id));
              }
              return slot;
            });
      // KEYS: the batch record, one key per event (a replicated event's apart), the chunk keys.
      const call = DEDUP_BATCH.encode({
        leadingKeys: [batchRecordKeyName(namespace, partition, batchId)],
        keyBytes: batch.keys,
        width: EVENT_KEY_BYTES,
        indices,
        prefixes: [dedupKeyNameOfHex(namespace, partition, ''), replicaKeyNameOfHex(namespace, partition, '')],
        prefixAt: origins === null ? () => 0 : (i) => (origins[i] != null ? 1 : 0),
        trailingKeys: chunkKeys,
        args: [batch.receiverId, windowMs, recordTtlMs, batchId, slotOfChunk.size, slots.join(','), replicaFlags],
      });
      const [reused, encoded, published, chunkResends] = (await DEDUP_BATCH.run(this.redis, call)) as DedupBatchReply;
      return {
        partition,
        indices,
        occurrences: parseOccurrences(encoded, indices.length),
        reused: reused === 1,
        published: published === 1,
        chunkResends: Number(chunkResends ?? 0),
      };
    });
    const decisions = await Promise.all(calls);
    if ((this.options.waitReplicas ?? 0) > 0) await this.waitForReplicas(decisions.map((d) => d.partition));
    return decisions;
  }

  /**
   * WAIT on each connection that ran one of the scripts: it blocks until the replicas have every write sent on it so
   * far, which includes the scripts (their replies came back before). A redelivered batch (decisions reused) waits
   * too: its first attempt may have died between the script and the WAIT.
   */
  private async waitForReplicas(partitions: readonly number[]): Promise<void> {
    const wanted = this.options.waitReplicas ?? 0;
    const timeoutMs = this.options.waitTimeoutMs ?? 2000;
    const nodes = this.redis instanceof Cluster ? this.nodesOf(this.redis, partitions) : [this.redis];
    await Promise.all(
      nodes.map(async (node) => {
        const acked = Number(await node.call('WAIT', wanted, timeoutMs));
        if (acked < wanted)
          throw new ReplicationWaitError(`WAIT: ${acked} of ${wanted} replicas acknowledged within ${timeoutMs} ms`);
      }),
    );
  }

  private nodesOf(cluster: Cluster, partitions: readonly number[]): Redis[] {
    const keys = new Set(partitions.map((p) => cluster.slots[hashSlot(`{p${p}}`)]?.[0]));
    const nodes = cluster.nodes('master').filter((n) => keys.has(`${n.options.host}:${n.options.port}`));
    if (nodes.length < keys.size)
      throw new ReplicationWaitError(
        'WAIT: the slot map names a master ioredis has no connection to (a failover under way)',
      );
    return nodes;
  }

  /** A small write in every partition: succeeds only once every shard holding a partition accepts writes again. */
  async probe(workerId: string): Promise<void> {
    const { namespace, partitions } = this.options;
    await Promise.all(
      Array.from({ length: partitions }, (_, p) =>
        this.redis.set(`${namespace}:{p${p}}:probe:${workerId}`, '1', 'PX', 10_000),
      ),
    );
  }

  /** After the publisher confirm: a later redelivery of this batch needs to publish nothing. */
  async markPublished(batch: NewEventBatch, decisions: readonly PartitionDecision[]): Promise<void> {
    const batchId = newBatchId(batch);
    await Promise.all(
      decisions.map((d) => this.redis.hset(batchRecordKeyName(this.options.namespace, d.partition, batchId), 'p', '1')),
    );
  }
}
