import type { Channel } from 'amqplib';

/**
 * The broker topology as data, declared in full by every process on every (re)connect. Declaring is idempotent,
 * and a receiver that publishes before any worker ever ran must still find `<ns>.new` bound, or a fanout exchange
 * with no queue would drop its batches.
 */
export interface Topology {
  readonly exchanges: readonly { name: string; type: 'fanout' | 'direct' }[];
  readonly queues: readonly { name: string; deadLetterExchange?: string; deliveryLimit?: number }[];
  readonly bindings: readonly { queue: string; exchange: string }[];
}

export interface TopologyNames {
  readonly newExchange: string;
  readonly newQueue: string;
  readonly processedExchange: string;
  readonly deadExchange: string;
  readonly deadQueue: string;
  sinkQueue(sink: string): string;
}

export function topologyNames(namespace: string): TopologyNames {
  return {
    newExchange: `${namespace}.new`,
    newQueue: `${namespace}.new`,
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

export function fleetTopology(namespace: string, sinks: readonly string[]): Topology {
  const n = topologyNames(namespace);
  const working = (name: string) => ({ name, deadLetterExchange: n.deadExchange, deliveryLimit: DELIVERY_LIMIT });
  return {
    exchanges: [
      { name: n.newExchange, type: 'fanout' },
      { name: n.processedExchange, type: 'fanout' },
      { name: n.deadExchange, type: 'fanout' },
    ],
    queues: [working(n.newQueue), ...sinks.map((s) => working(n.sinkQueue(s))), { name: n.deadQueue }],
    bindings: [
      { queue: n.newQueue, exchange: n.newExchange },
      ...sinks.map((s) => ({ queue: n.sinkQueue(s), exchange: n.processedExchange })),
      { queue: n.deadQueue, exchange: n.deadExchange },
    ],
  };
}

export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const e of topology.exchanges) await channel.assertExchange(e.name, e.type, { durable: true });
  for (const q of topology.queues) {
    const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
    if (q.deadLetterExchange) args['x-dead-letter-exchange'] = q.deadLetterExchange;
    if (q.deliveryLimit) args['x-delivery-limit'] = q.deliveryLimit;
    await channel.assertQueue(q.name, { durable: true, arguments: args });
  }
  for (const b of topology.bindings) await channel.bindQueue(b.queue, b.exchange, '');
}
