/**
 * Where a receiver publishes each batch: the fanout exchange `<ns>.new` with one shard, else the shard exchange with
 * the shards in turn. Any shard is right for any batch (the dedup decision lives in Redis, not in the queue), so
 * turn-taking spreads batches evenly; each receiver starts at a random shard so that a fleet's first batches after
 * a restart do not all land on shard 0.
 */
export interface BatchRoute {
  readonly exchange: string;
  readonly routingKey?: string;
}

export class ShardRotation {
  private next: number;

  constructor(
    private readonly fanoutExchange: string,
    private readonly shardExchange: string,
    private readonly shards: number,
    start: number = Math.floor(Math.random() * shards),
  ) {
    this.next = start % shards;
  }

  route(): BatchRoute {
    if (this.shards === 1) return { exchange: this.fanoutExchange };
    const shard = this.next;
    this.next = (this.next + 1) % this.shards;
    return { exchange: this.shardExchange, routingKey: String(shard) };
  }
}
