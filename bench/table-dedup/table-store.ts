/**
 * PROTOTYPE FOR MEASUREMENT, not the product's store: the dedup window in a packed open-addressing table inside one
 * Redis string per partition (bench/table-dedup/table-dedup.lua), with the product's per-event keys as the fallback
 * for what a slot cannot hold. Same interface as dedup-worker/dedup-store.ts's decide and markPublished, so the
 * window bench drives either. No chunk resends, no replicated events, no WAIT, no Cluster routing: the bench's
 * batches carry none, and the question is what the table costs Redis.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { NewEventBatch } from '../../shared/batch-codec.js';
import { keyAt, newBatchId } from '../../shared/batch-codec.js';
import { EVENT_KEY_BYTES } from '../../shared/event-key.js';
import { parseOccurrences, type PartitionDecision } from '../../dedup-worker/batch-decision.js';
import { batchRecordKeyName, groupByPartition } from '../../dedup-worker/partitioning.js';

// The .lua file stays in the source tree (the build copies only dedup-worker/lua): from dist/bench/table-dedup/ up
// to the checkout.
const TABLE_DEDUP_LUA = readFileSync(new URL('../../../bench/table-dedup/table-dedup.lua', import.meta.url), 'utf8');

/** A bucket: an overflow stamp and `slots` slots of 8 bytes (table-dedup.lua). */
export function tableBucketBytes(slots: number): number {
  return 1 + 8 * slots;
}

/** "string": one string per table, a call per event to read and to write; "hash": one hash, one call per batch each. */
export type TableLayout = 'string' | 'hash';

export interface TableStoreOptions {
  readonly namespace: string;
  readonly partitions: number;
  readonly windowMs: number;
  /** Buckets per partition's table. */
  readonly buckets: number;
  readonly slots: number;
  readonly layout: TableLayout;
}

/** How often each path of the script ran, summed over the batches decided. */
export interface TableStats {
  tableHits: number;
  tableInserts: number;
  migrations: number;
  bucketFull: number;
  untagged: number;
  keyChecks: number;
  perEventKeyCopies: number;
}

type TableReply = [reused: number, decisions: string, published: number, unused: number, stats: string];
interface TableCommands {
  tableDedupBatch(...args: (string | number | Buffer)[]): Promise<TableReply>;
}

/**
 * Buckets for a table that holds `uniquePerSecond` events over a window plus its last stamp unit (the most a slot
 * can stay) at `loadFactor` of its slots, per partition.
 */
export function tableBuckets(
  uniquePerSecond: number,
  windowMs: number,
  partitions: number,
  slots: number,
  loadFactor: number,
): number {
  const held = (uniquePerSecond * windowMs * 9) / 8 / 1000 / partitions;
  return Math.max(1, Math.ceil(held / slots / loadFactor));
}

export class TableDedupStore {
  private readonly redis: Redis & TableCommands;
  readonly stats: TableStats = {
    tableHits: 0,
    tableInserts: 0,
    migrations: 0,
    bucketFull: 0,
    untagged: 0,
    keyChecks: 0,
    perEventKeyCopies: 0,
  };

  constructor(
    redis: Redis,
    private readonly options: TableStoreOptions,
  ) {
    redis.defineCommand('tableDedupBatch', { lua: TABLE_DEDUP_LUA, numberOfKeys: 3 });
    this.redis = redis as Redis & TableCommands;
  }

  async decide(batch: NewEventBatch): Promise<PartitionDecision[]> {
    const batchId = newBatchId(batch);
    const { namespace, windowMs, buckets, slots, layout } = this.options;
    const bucketBytes = tableBucketBytes(slots);
    const calls = [...groupByPartition(batch, this.options.partitions)].map(async ([partition, indices]) => {
      const packed = Buffer.allocUnsafe(indices.length * EVENT_KEY_BYTES);
      // Each event's bucket: a 4-byte field name, or its first and last byte offset in decimal (the script's header).
      const fields = layout === 'hash' ? Buffer.allocUnsafe(indices.length * 4) : Buffer.alloc(0);
      const offsets: string[] = [];
      indices.forEach((i, j) => {
        packed.set(keyAt(batch, i), j * EVENT_KEY_BYTES);
        const bucket = packed.readUInt32BE(j * EVENT_KEY_BYTES + 2) % buckets;
        if (layout === 'hash') fields.writeUInt32BE(bucket, j * 4);
        else offsets.push(String(bucket * bucketBytes), String(bucket * bucketBytes + bucketBytes - 1));
      });
      const [reused, encoded, published, , stats] = await this.redis.tableDedupBatch(
        batchRecordKeyName(namespace, partition, batchId),
        `${namespace}:{p${partition}}:t`,
        `${namespace}:{p${partition}}:tr`,
        batch.receiverId,
        windowMs,
        windowMs * 2,
        packed,
        `${namespace}:{p${partition}}:e:`,
        layout,
        slots,
        buckets,
        fields,
        ...offsets,
      );
      if (stats !== '') this.count(stats);
      return {
        partition,
        indices,
        occurrences: parseOccurrences(encoded, indices.length),
        reused: reused === 1,
        published: published === 1,
        chunkResends: 0,
      };
    });
    return Promise.all(calls);
  }

  async markPublished(batch: NewEventBatch, decisions: readonly PartitionDecision[]): Promise<void> {
    const batchId = newBatchId(batch);
    await Promise.all(
      decisions.map((d) => this.redis.hset(batchRecordKeyName(this.options.namespace, d.partition, batchId), 'p', '1')),
    );
  }

  private count(stats: string): void {
    const [hits, inserts, migrations, full, untagged, checks, keyCopies] = stats.split(',').map(Number);
    const s = this.stats;
    s.tableHits += hits ?? 0;
    s.tableInserts += inserts ?? 0;
    s.migrations += migrations ?? 0;
    s.bucketFull += full ?? 0;
    s.untagged += untagged ?? 0;
    s.keyChecks += checks ?? 0;
    s.perEventKeyCopies += keyCopies ?? 0;
  }
}
