/**
 * Where a message in `<ns>.dead` came from and why it is there, read from its headers (pure, so every header shape
 * is tested without a broker). fanin's own dead letters (QueueConsumer.deadLetter) carry `x-fanin-reason`,
 * `x-fanin-stage` and `x-fanin-queue`; RabbitMQ's (a message redelivered past `x-delivery-limit`) carry `x-death`
 * and `x-first-death-queue` / `x-first-death-reason` instead.
 */

/**
 * Why a batch was set aside, as a class an operator can filter on: the reason text itself is free (an HTTP body, a
 * PostgreSQL message) and would give one row per batch.
 */
export const REASON_CLASSES = [
  'refused',
  'undecodable',
  'delivery_limit',
  'rejected',
  'expired',
  'maxlen',
  'other',
  'secondary',
] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

export const REASON_DOCS: Readonly<Record<ReasonClass, string>> = {
  refused: 'a sink refused the batch for good (PermanentSinkError)',
  undecodable: 'a worker or uploader could not decode the batch',
  delivery_limit: 'RabbitMQ dead-lettered it after too many redeliveries',
  rejected: 'RabbitMQ dead-lettered it: rejected without requeue',
  expired: 'RabbitMQ dead-lettered it: expired',
  maxlen: 'RabbitMQ dead-lettered it: queue length limit',
  other: 'any other reason, or none given',
  secondary: 'written to the secondary file sink after the sink kept failing',
};

export type DeadTarget =
  /** A sink's queue, `<ns>.sink.<name>`. */
  | { readonly kind: 'sink'; readonly sink: string; readonly queue: string }
  /** `<ns>.new` or one of its shards: a batch a dedup worker gave up on. */
  | { readonly kind: 'new'; readonly queue: string }
  /** No origin, or a queue that is not this namespace's. */
  | { readonly kind: 'unknown'; readonly queue: string | null };

export interface DeadLetterOrigin {
  readonly target: DeadTarget;
  readonly reason: ReasonClass;
  /** The reason as given (`x-fanin-reason`, or RabbitMQ's death reason), for messages. */
  readonly detail: string;
}

const SINK_NAME = /^[a-z0-9_-]{1,32}$/;

export function deadLetterOrigin(
  namespace: string,
  headers: Readonly<Record<string, unknown>> | undefined,
): DeadLetterOrigin {
  const h = headers ?? {};
  const death = firstDeath(h);
  const queue = text(h['x-fanin-queue']) ?? text(h['x-first-death-queue']) ?? death.queue;
  const faninReason = text(h['x-fanin-reason']);
  const brokerReason = text(h['x-first-death-reason']) ?? death.reason;
  let reason: ReasonClass = 'other';
  let detail = 'no x-fanin-reason or x-death header';
  if (faninReason !== null) {
    detail = faninReason;
    if (faninReason.startsWith('sink ')) reason = 'refused';
    else if (faninReason.startsWith('processed batch:') || faninReason.startsWith('new batch:')) reason = 'undecodable';
  } else if (brokerReason !== null) {
    detail = `RabbitMQ: ${brokerReason}`;
    if ((REASON_CLASSES as readonly string[]).includes(brokerReason)) reason = brokerReason as ReasonClass;
  }
  return { target: targetOf(namespace, queue), reason, detail };
}

export function targetOf(namespace: string, queue: string | null): DeadTarget {
  if (queue === null) return { kind: 'unknown', queue };
  const sinkPrefix = `${namespace}.sink.`;
  if (queue.startsWith(sinkPrefix) && SINK_NAME.test(queue.slice(sinkPrefix.length))) {
    return { kind: 'sink', sink: queue.slice(sinkPrefix.length), queue };
  }
  if (queue === `${namespace}.new` || new RegExp(`^${escapeRegExp(namespace)}\\.new\\.[1-9]\\d{0,3}$`).test(queue))
    return { kind: 'new', queue };
  return { kind: 'unknown', queue };
}

/** RabbitMQ puts the latest death first in `x-death`; the first death is the last entry. */
function firstDeath(h: Readonly<Record<string, unknown>>): { queue: string | null; reason: string | null } {
  const deaths = h['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return { queue: null, reason: null };
  const first = deaths[deaths.length - 1] as Record<string, unknown> | null;
  if (typeof first !== 'object' || first === null) return { queue: null, reason: null };
  return { queue: text(first.queue), reason: text(first.reason) };
}

/** A header value as text: amqplib hands long strings as strings, byte arrays as Buffers. */
function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
