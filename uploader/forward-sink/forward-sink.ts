import type { Registry } from 'prom-client';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { Logger } from '../../shared/logger.js';
import type { Sink, SinkWriteResult } from '../sink.js';
import { buildChunks, type ForwardChunk } from './forward-entries.js';
import { asForwardError, ForwardSendError } from './forward-errors.js';
import { encodePackedForward } from './forward-message.js';
import type { ForwardSinkOptions } from './forward-sink-config.js';
import { createForwardSinkMetrics, type ForwardSinkMetrics } from './forward-sink-metrics.js';
import { ServerPool, type ServerNode } from './server-pool.js';

/** How many chunk ids the sink remembers as acknowledged / as sent without an ack. */
const REMEMBERED_CHUNKS = 65_536;

/**
 * out_forward for the uploader. Each processed batch becomes one PackedForward message per tag, with a chunk id
 * derived from its event ids. A write resolves only when a server acknowledged every chunk (with
 * requireAckResponse), so the uploader acks its AMQP deliveries only after the aggregator's ack. A chunk that
 * fails on one server (connect refused, handshake refused, ack missing) is resent at once to the next server in
 * rotation; when none is left the write throws and the uploader retries it with backoff, resending only the chunks
 * that no server acknowledged yet.
 */
export class ForwardSink implements Sink {
  private readonly pool: ServerPool;
  private readonly metrics: ForwardSinkMetrics;
  private readonly acked = new RecentIds(REMEMBERED_CHUNKS);
  private readonly unacked = new RecentIds(REMEMBERED_CHUNKS);

  /** `name`: the configured sink name (queue, logs, the uploader's `sink` label). */
  constructor(
    private readonly options: ForwardSinkOptions,
    registry: Registry,
    log: Logger,
    readonly name = 'forward',
  ) {
    this.metrics = createForwardSinkMetrics(registry);
    this.pool = new ServerPool(options, this.metrics, log.child({ sink: name }));
    this.pool.start();
    this.metrics.excludedEvents.inc({ sink: name }, 0);
    log.info(
      {
        servers: options.servers.map((s) => `${s.label}${s.standby ? ' standby' : ''} w${s.weight}`),
        heartbeat: options.heartbeatType,
        ack: options.requireAckResponse,
        handshake: options.auth !== null,
        tls: options.tls !== null,
        compress: options.compress,
        fleet: options.replication?.fleetId,
        excludeFleets: [...options.excludeFleets],
      },
      'forward sink ready',
    );
  }

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    const excluded = { count: 0 };
    const chunks = buildChunks(
      batches,
      this.options.idKey,
      Date.now(),
      {
        path: this.options.replication && {
          fleetId: this.options.replication.fleetId,
          key: this.options.replication.pathKey,
        },
        exclude: this.options.excludeFleets,
      },
      excluded,
    );
    const results = await Promise.allSettled(chunks.map((c) => this.deliver(c)));
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => asForwardError(r.reason));
    if (failures.length > 0) {
      const first = failures[0]!;
      throw new ForwardSendError(
        first.code,
        `${failures.length} of ${chunks.length} forward chunks not delivered: ${first.message}`,
      );
    }
    // Counted once the write succeeded: a retried write would count its exclusions again.
    if (excluded.count > 0) this.metrics.excludedEvents.inc({ sink: this.name }, excluded.count);
    return {
      written: chunks.reduce((n, c) => n + c.receivedAt.length, 0),
      rejected: chunks.reduce((n, c) => n + c.rejected, 0),
      receivedAt: chunks.flatMap((c) => c.receivedAt),
    };
  }

  async close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }

  private async deliver(chunk: ForwardChunk): Promise<void> {
    const requireAck = this.options.requireAckResponse;
    if (requireAck && this.acked.has(chunk.chunkId)) {
      this.metrics.chunksSkipped.inc();
      return;
    }
    const message = await encodePackedForward(chunk, { compress: this.options.compress, requireAck });
    const tried = new Set<ServerNode>();
    let last: ForwardSendError | null = null;
    // Bounded: every pass adds a server to `tried`, and pick() returns null once all were tried.
    for (let node = this.pool.pick(tried); node !== null; node = this.pool.pick(tried)) {
      tried.add(node);
      const server = node.label;
      let written = false;
      try {
        await node.send(message, requireAck ? chunk.chunkId : null, () => {
          if (written || this.unacked.has(chunk.chunkId)) this.metrics.resends.inc({ server });
          written = true;
          this.metrics.chunksSent.inc({ server });
          this.metrics.eventsSent.inc({ server }, chunk.count);
          this.metrics.bytesSent.inc({ server }, message.length);
        });
        if (requireAck) {
          this.metrics.acksReceived.inc({ server });
          this.unacked.delete(chunk.chunkId);
          this.acked.add(chunk.chunkId);
        }
        return;
      } catch (err) {
        last = asForwardError(err);
        if (written) this.unacked.add(chunk.chunkId);
        this.pool.sendFailed(node, last);
      }
    }
    throw last ?? new ForwardSendError('FORWARD_NO_SERVER', 'no forward server is available (all are down)');
  }
}

/** A set of the most recent ids, oldest evicted first: bounded memory however long the uploader runs. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  delete(id: string): void {
    this.ids.delete(id);
  }
  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }
}
