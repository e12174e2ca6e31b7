import type { Channel, ChannelModel } from 'amqplib';

/**
 * The broker topology as data, declared in full by every process on every (re)connect. Declaring is idempotent,
 * and a receiver that publishes before any worker ever ran must still find `<ns>.new` bound, or a fanout exchange
 * with no queue would drop its batches.
 */
export interface Topology {
  readonly exchanges: readonly { name: string; type: 'fanout' | 'direct' }[];
  readonly queues: readonly { name: string; deadLetterExchange?: string; deliveryLimit?: number }[];
  readonly bindings: readonly { queue: string; exchange: string; routingKey?: string }[];
  /**
   * Members of each quorum queue at its creation (`x-quorum-initial-group-size`); RabbitMQ caps it at the number of
   * cluster nodes, so 3 is also right on a single node. It only shapes a new queue: see declareTopologyOn.
   */
  readonly quorumInitialGroupSize?: number;
}

/** The replication factor the fleet asks for when the setting is not given. */
export const DEFAULT_QUORUM_INITIAL_GROUP_SIZE = 3;

export interface TopologyNames {
  readonly newExchange: string;
  readonly newQueue: string;
  /** The direct exchange that spreads batches over the shards of `<ns>.new` (routing key: the shard number). */
  readonly newShardExchange: string;
  /** Shard k of `<ns>.new`: shard 0 is `<ns>.new` itself, so adding shards strands nothing already queued. */
  newShardQueue(shard: number): string;
  readonly processedExchange: string;
  readonly deadExchange: string;
  readonly deadQueue: string;
  sinkQueue(sink: string): string;
}

export function topologyNames(namespace: string): TopologyNames {
  return {
    newExchange: `${namespace}.new`,
    newQueue: `${namespace}.new`,
    newShardExchange: `${namespace}.new.shards`,
    newShardQueue: (shard) => (shard === 0 ? `${namespace}.new` : `${namespace}.new.${shard}`),
    processedExchange: `${namespace}.processed`,
    deadExchange: `${namespace}.dead`,
    deadQueue: `${namespace}.dead`,
    sinkQueue: (sink) => `${namespace}.sink.${sink}`,
  };
}

/**
 * A message that keeps crashing its consumer is dead-lettered after this many deliveries instead of looping forever.
 * High, because a Redis outage also returns batches to the queue (once per outage, see the worker's hold mode).
 */
const DELIVERY_LIMIT = 50;

/** The queues the dedup workers consume: `<ns>.new` alone, or it and shards 1…n-1. */
export function newQueueShards(namespace: string, shards: number): string[] {
  const n = topologyNames(namespace);
  return Array.from({ length: shards }, (_, k) => n.newShardQueue(k));
}

/**
 * With one shard (the default) receivers publish to the fanout exchange `<ns>.new`. One quorum queue has one
 * leader, whose node does all of its work; shards give each its own leader, spread over the cluster's nodes. The
 * fanout exchange stays declared and bound to shard 0, so a receiver still configured with one shard keeps
 * delivering while a fleet changes the setting one process at a time.
 */
export function fleetTopology(
  namespace: string,
  sinks: readonly string[],
  quorumInitialGroupSize = DEFAULT_QUORUM_INITIAL_GROUP_SIZE,
  shards = 1,
): Topology {
  const n = topologyNames(namespace);
  const working = (name: string) => ({ name, deadLetterExchange: n.deadExchange, deliveryLimit: DELIVERY_LIMIT });
  const shardQueues = newQueueShards(namespace, shards);
  return {
    exchanges: [
      { name: n.newExchange, type: 'fanout' },
      ...(shards > 1 ? [{ name: n.newShardExchange, type: 'direct' as const }] : []),
      { name: n.processedExchange, type: 'fanout' },
      { name: n.deadExchange, type: 'fanout' },
    ],
    queues: [...shardQueues.map(working), ...sinks.map((s) => working(n.sinkQueue(s))), { name: n.deadQueue }],
    bindings: [
      { queue: n.newQueue, exchange: n.newExchange },
      ...(shards > 1
        ? shardQueues.map((queue, k) => ({ queue, exchange: n.newShardExchange, routingKey: String(k) }))
        : []),
      ...sinks.map((s) => ({ queue: n.sinkQueue(s), exchange: n.processedExchange })),
      { queue: n.deadQueue, exchange: n.deadExchange },
    ],
    quorumInitialGroupSize,
  };
}

export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const e of topology.exchanges) await channel.assertExchange(e.name, e.type, { durable: true });
  for (const q of topology.queues)
    await channel.assertQueue(q.name, { durable: true, arguments: queueArguments(q, topology.quorumInitialGroupSize) });
  for (const b of topology.bindings) await channel.bindQueue(b.queue, b.exchange, b.routingKey ?? '');
}

/**
 * A queue declared before (an older fanin, or another `quorumInitialGroupSize`) holds another initial group size,
 * and RabbitMQ refuses a declare whose value differs, absent included (PRECONDITION_FAILED, which closes the
 * channel). The size only mattered at creation, so such a queue is kept as it is (checked to exist) and reported
 * through `onKept`; its membership is changed with `rabbitmq-queues grow`/`shrink`, not by redeclaring.
 */
export async function declareTopologyOn(
  model: ChannelModel,
  topology: Topology,
  onKept: (queue: string, brokerMessage: string) => void,
): Promise<void> {
  const open = async () => {
    const c = await model.createChannel();
    // A refused declare closes only the channel (the rejected call carries why); unheard, the error would take the
    // connection down with it.
    c.on('error', () => undefined);
    return c;
  };
  let channel = await open();
  try {
    for (const e of topology.exchanges) await channel.assertExchange(e.name, e.type, { durable: true });
    for (const q of topology.queues) {
      try {
        await channel.assertQueue(q.name, {
          durable: true,
          arguments: queueArguments(q, topology.quorumInitialGroupSize),
        });
      } catch (err) {
        const message = (err as Error).message;
        if ((err as { code?: unknown }).code !== 406 || !message.includes('x-quorum-initial-group-size')) throw err;
        channel = await open();
        await channel.checkQueue(q.name);
        onKept(q.name, message);
      }
    }
    for (const b of topology.bindings) await channel.bindQueue(b.queue, b.exchange, b.routingKey ?? '');
  } finally {
    await channel.close().catch(() => undefined);
  }
}

function queueArguments(q: Topology['queues'][number], groupSize: number | undefined): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
  if (q.deadLetterExchange) args['x-dead-letter-exchange'] = q.deadLetterExchange;
  if (q.deliveryLimit) args['x-delivery-limit'] = q.deliveryLimit;
  if (groupSize !== undefined) args['x-quorum-initial-group-size'] = groupSize;
  return args;
}
