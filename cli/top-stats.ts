import { sumBy, sumOf, type Sample } from './prom-text.js';
import { leaseQueueName } from '../receiver/receiver-id-lease.js';

/** What one scrape of one target gave. */
export interface TargetScrape {
  readonly url: string;
  readonly samples: readonly Sample[] | null;
  readonly error?: string;
}

export interface CopyCounts {
  unique: number;
  repeat: number;
  duplicate: number;
  chunkResend: number;
}

export interface WorkerState {
  readonly id: string;
  readonly holding: boolean;
  readonly redisUp: boolean;
  readonly decided: number;
}

export interface QueueDepth {
  readonly name: string;
  readonly ready: number;
  readonly unacked: number;
}

/** The fleet's counters at one instant, summed over the processes that answered. */
export interface FleetTotals {
  readonly atMs: number;
  readonly targets: readonly { url: string; up: boolean; error?: string }[];
  /** Receiver id → copies it accepted (its own counter, all protocols). */
  readonly received: ReadonlyMap<string, number>;
  /** Receiver id → its copies as the workers decided them (summed over workers). */
  readonly copies: ReadonlyMap<string, CopyCounts>;
  readonly uniquePublished: number;
  readonly written: number;
  readonly workers: readonly WorkerState[];
  /** null when no RabbitMQ endpoint answered. */
  readonly queues: readonly QueueDepth[] | null;
}

const COMPONENT = 'component';
const INSTANCE = 'instance_id';

/** Reads the fleet's counters out of one round of scrapes. `namespace` picks fanin's queues out of RabbitMQ's. */
export function fleetTotals(scrapes: readonly TargetScrape[], namespace: string, atMs: number): FleetTotals {
  const received = new Map<string, number>();
  const copies = new Map<string, CopyCounts>();
  const workers: WorkerState[] = [];
  let uniquePublished = 0;
  let written = 0;
  let queues: QueueDepth[] | null = null;
  for (const scrape of scrapes) {
    const samples = scrape.samples;
    if (!samples) continue;
    for (const [id, n] of sumBy(samples, 'fanin_receiver_events_received_total', INSTANCE, {
      [COMPONENT]: 'receiver',
    })) {
      received.set(id, (received.get(id) ?? 0) + n);
    }
    for (const [receiver, n] of sumBy(samples, 'fanin_worker_copies_total', 'receiver', { result: 'unique' }))
      copiesOf(copies, receiver).unique += n;
    for (const [receiver, n] of sumBy(samples, 'fanin_worker_copies_total', 'receiver', { result: 'repeat' }))
      copiesOf(copies, receiver).repeat += n;
    for (const [receiver, n] of sumBy(samples, 'fanin_worker_copies_total', 'receiver', { result: 'duplicate' }))
      copiesOf(copies, receiver).duplicate += n;
    for (const [receiver, n] of sumBy(samples, 'fanin_worker_copies_total', 'receiver', { result: 'chunk_resend' }))
      copiesOf(copies, receiver).chunkResend += n;
    uniquePublished += sumOf(samples, 'fanin_worker_unique_events_published_total');
    written += sumOf(samples, 'fanin_uploader_events_written_total');
    const worker = samples.find((s) => s.name === 'fanin_worker_holding');
    if (worker) {
      const id = worker.labels[INSTANCE] ?? scrape.url;
      workers.push({
        id,
        holding: worker.value === 1,
        redisUp: sumOf(samples, 'fanin_worker_redis_up') === 1,
        decided: sumOf(samples, 'fanin_worker_copies_total'),
      });
    }
    const depth = queueDepths(samples, namespace);
    if (depth) queues = [...(queues ?? []), ...depth];
  }
  workers.sort((a, b) => a.id.localeCompare(b.id));
  return {
    atMs,
    received,
    copies,
    uniquePublished,
    written,
    workers,
    queues,
    targets: scrapes.map((s) => ({ url: s.url, up: s.samples !== null, ...(s.error ? { error: s.error } : {}) })),
  };
}

function copiesOf(map: Map<string, CopyCounts>, receiver: string): CopyCounts {
  let c = map.get(receiver);
  if (!c) {
    c = { unique: 0, repeat: 0, duplicate: 0, chunkResend: 0 };
    map.set(receiver, c);
  }
  return c;
}

/** RabbitMQ's plugin names them rabbitmq_queue_* (/metrics/per-object) or rabbitmq_detailed_queue_* (/metrics/detailed). */
function queueDepths(samples: readonly Sample[], namespace: string): QueueDepth[] | null {
  const ready = new Map<string, number>();
  const unacked = new Map<string, number>();
  let seen = false;
  for (const s of samples) {
    const name = s.name.replace(/^rabbitmq_detailed_/, 'rabbitmq_');
    if (name !== 'rabbitmq_queue_messages_ready' && name !== 'rabbitmq_queue_messages_unacked') continue;
    seen = true;
    const queue = s.labels.queue ?? '';
    // The receivers' id leases are queues too, but never hold events.
    if (!queue.startsWith(`${namespace}.`) || queue.startsWith(leaseQueueName(namespace, ''))) continue;
    const into = name === 'rabbitmq_queue_messages_ready' ? ready : unacked;
    into.set(queue, (into.get(queue) ?? 0) + s.value);
  }
  if (!seen) return null;
  const names = [...new Set([...ready.keys(), ...unacked.keys()])].sort(queueOrder(namespace));
  return names.map((name) => ({ name, ready: ready.get(name) ?? 0, unacked: unacked.get(name) ?? 0 }));
}

/** The pipeline's order: new (and its shards, by number), then the sinks, then dead. */
function queueOrder(namespace: string): (a: string, b: string) => number {
  const newQueue = `${namespace}.new`;
  const shardOf = (q: string) =>
    q === newQueue
      ? 0
      : /^\d+$/.test(q.slice(newQueue.length + 1)) && q.startsWith(`${newQueue}.`)
        ? Number(q.slice(newQueue.length + 1))
        : null;
  const rank = (q: string) => (shardOf(q) !== null ? 0 : q === `${namespace}.dead` ? 2 : 1);
  return (a, b) => rank(a) - rank(b) || (shardOf(a) ?? 0) - (shardOf(b) ?? 0) || a.localeCompare(b);
}

export interface ReceiverRow {
  readonly id: string;
  /** Copies this receiver accepted (its own counter); null when its metrics were not scraped. */
  readonly received: number | null;
  /** Copies the workers decided for it: first (unique + repeat), duplicate. */
  readonly first: number;
  readonly duplicate: number;
  /** Copies it delivered ÷ unique events of the fleet, since the workers started; null before any unique event. */
  readonly coverageTotal: number | null;
  /** Per second over the last interval; null for the first frame. */
  readonly ingestRate: number | null;
  readonly firstRate: number | null;
  readonly duplicateRate: number | null;
  /** Coverage over the last interval; null without unique events in it. */
  readonly coverage: number | null;
}

export interface TopView {
  readonly time: string;
  readonly intervalSeconds: number | null;
  readonly targets: FleetTotals['targets'];
  readonly receivers: readonly ReceiverRow[];
  readonly fleet: {
    readonly received: number;
    readonly unique: number;
    readonly repeat: number;
    readonly duplicate: number;
    readonly written: number;
    readonly receivedRate: number | null;
    readonly uniqueRate: number | null;
    readonly repeatRate: number | null;
    readonly duplicateRate: number | null;
    readonly writtenRate: number | null;
  };
  readonly workers: readonly (WorkerState & { readonly decidedRate: number | null })[];
  readonly queues: readonly QueueDepth[] | null;
}

/** A counter's increase; a counter that went down restarted from 0, as Prometheus's rate() assumes. */
export function increase(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

const sumMap = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const firstOf = (c: CopyCounts | undefined) => (c ? c.unique + c.repeat : 0);
const uniqueOf = (m: ReadonlyMap<string, CopyCounts>) => [...m.values()].reduce((a, c) => a + c.unique, 0);
const repeatOf = (m: ReadonlyMap<string, CopyCounts>) => [...m.values()].reduce((a, c) => a + c.repeat, 0);
const duplicateOf = (m: ReadonlyMap<string, CopyCounts>) => [...m.values()].reduce((a, c) => a + c.duplicate, 0);

/** Totals and, given the previous round, rates per second and the coverage over the interval. */
export function computeView(previous: FleetTotals | null, current: FleetTotals): TopView {
  const seconds = previous ? (current.atMs - previous.atMs) / 1000 : null;
  const rate = (before: number | undefined, now: number): number | null =>
    seconds && seconds > 0 && before !== undefined ? increase(before, now) / seconds : null;
  const fleetUnique = uniqueOf(current.copies) + repeatOf(current.copies);
  const fleetUniqueDelta = previous ? increase(uniqueOf(previous.copies) + repeatOf(previous.copies), fleetUnique) : 0;
  const ids = [...new Set([...current.received.keys(), ...current.copies.keys()])].sort();
  const receivers = ids.map((id): ReceiverRow => {
    const c = current.copies.get(id);
    const p = previous?.copies.get(id);
    const first = firstOf(c);
    const duplicate = c?.duplicate ?? 0;
    const delivered = first + duplicate;
    const deliveredDelta = previous ? increase(firstOf(p) + (p?.duplicate ?? 0), delivered) : 0;
    const received = current.received.get(id);
    return {
      id,
      received: received ?? null,
      first,
      duplicate,
      coverageTotal: fleetUnique > 0 ? delivered / fleetUnique : null,
      ingestRate: received === undefined ? null : rate(previous?.received.get(id), received),
      firstRate: previous ? rate(firstOf(p), first) : null,
      duplicateRate: previous ? rate(p?.duplicate ?? 0, duplicate) : null,
      coverage: previous && fleetUniqueDelta > 0 ? deliveredDelta / fleetUniqueDelta : null,
    };
  });
  const workers = current.workers.map((w) => ({
    ...w,
    decidedRate: rate(previous?.workers.find((x) => x.id === w.id)?.decided, w.decided),
  }));
  return {
    time: new Date(current.atMs).toISOString(),
    intervalSeconds: seconds,
    targets: current.targets,
    receivers,
    workers,
    queues: current.queues,
    fleet: {
      received: sumMap(current.received),
      unique: uniqueOf(current.copies),
      repeat: repeatOf(current.copies),
      duplicate: duplicateOf(current.copies),
      written: current.written,
      receivedRate: previous ? rate(sumMap(previous.received), sumMap(current.received)) : null,
      uniqueRate: previous ? rate(uniqueOf(previous.copies), uniqueOf(current.copies)) : null,
      repeatRate: previous ? rate(repeatOf(previous.copies), repeatOf(current.copies)) : null,
      duplicateRate: previous ? rate(duplicateOf(previous.copies), duplicateOf(current.copies)) : null,
      writtenRate: previous ? rate(previous.written, current.written) : null,
    },
  };
}

const num = (n: number | null, digits = 1) => (n === null ? '-' : n.toFixed(digits));
const pct = (n: number | null) => (n === null ? '-' : `${(n * 100).toFixed(1)}%`);
const count = (n: number | null) => (n === null ? '-' : String(Math.round(n)));

/** The frame `fanin top` prints: plain text, no colours, at most ~100 columns. */
export function renderView(view: TopView, namespace: string): string {
  const up = view.targets.filter((t) => t.up).length;
  const every = view.intervalSeconds === null ? '' : `   over ${view.intervalSeconds.toFixed(1)} s`;
  const lines = [
    `fanin top   ${view.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}${every}   namespace ${namespace}   targets ${up}/${view.targets.length} up`,
    '',
    `${'RECEIVER'.padEnd(10)}${'INGEST/s'.padStart(11)}${'FIRST/s'.padStart(11)}${'DUP/s'.padStart(11)}${'COVERAGE'.padStart(10)}${'SINCE START'.padStart(13)}${'RECEIVED'.padStart(12)}${'FIRST'.padStart(10)}${'DUP'.padStart(10)}`,
  ];
  if (view.receivers.length === 0) lines.push('(no receiver has reported yet)');
  for (const r of view.receivers) {
    lines.push(
      `${r.id.padEnd(10)}${num(r.ingestRate).padStart(11)}${num(r.firstRate).padStart(11)}${num(r.duplicateRate).padStart(11)}` +
        `${pct(r.coverage).padStart(10)}${pct(r.coverageTotal).padStart(13)}${count(r.received).padStart(12)}${count(r.first).padStart(10)}${count(r.duplicate).padStart(10)}`,
    );
  }
  const f = view.fleet;
  lines.push(
    '',
    `FLEET     copies in/s ${num(f.receivedRate)}   unique/s ${num(f.uniqueRate)}   duplicates/s ${num(f.duplicateRate)}` +
      `   repeats/s ${num(f.repeatRate)}   written/s ${num(f.writtenRate)}`,
  );
  lines.push(
    `          totals: copies in ${count(f.received)}   unique ${count(f.unique)}   duplicates ${count(f.duplicate)}   repeats ${count(f.repeat)}   written ${count(f.written)}`,
  );
  const workers = view.workers.map(
    (w) => `${w.id} ${num(w.decidedRate)}/s${w.holding ? (w.redisUp ? ' HOLDING' : ' HOLDING (redis down)') : ''}`,
  );
  lines.push(`WORKERS   ${view.workers.length} up${workers.length > 0 ? `: ${workers.join('   ')}` : ''}`);
  if (view.queues === null)
    lines.push(
      "QUEUES    - (RabbitMQ's Prometheus endpoint did not answer: rabbitmq-plugins enable rabbitmq_prometheus)",
    );
  else if (view.queues.length === 0) lines.push('QUEUES    (none in this namespace yet)');
  else
    view.queues.forEach((q, i) =>
      lines.push(
        `${i === 0 ? 'QUEUES    ' : ' '.repeat(10)}${q.name} ready ${count(q.ready)} unacked ${count(q.unacked)}`,
      ),
    );
  const down = view.targets.filter((t) => !t.up);
  if (down.length > 0)
    lines.push(`DOWN      ${down.map((t) => `${t.url}${t.error ? ` (${t.error})` : ''}`).join('   ')}`);
  return lines.join('\n') + '\n';
}
