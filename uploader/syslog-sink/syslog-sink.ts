import type { Registry } from 'prom-client';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { Logger } from '../../shared/logger.js';
import { rejectedLine } from '../decoded-events.js';
import type { Sink, SinkWriteResult } from '../sink.js';
import { decodeSyslogSinkEvents } from './syslog-events.js';
import { frame, splitsWithoutOctetCounting } from './syslog-framing.js';
import { eventPayload, idElement, type PayloadKind } from './syslog-payload.js';
import type { SyslogSinkOptions } from './syslog-sink-config.js';
import { createSyslogSinkMetrics, type SyslogSinkMetrics } from './syslog-sink-metrics.js';
import { SyslogServerPool } from './syslog-server-pool.js';

/** APP-NAME of a body that was no event envelope: it still goes out (with its reason), like the forward sink's tag. */
const REJECTED_APP_NAME = 'fanin.rejected';

interface Outgoing {
  readonly bytes: Buffer;
  readonly kind: PayloadKind | 'rejected';
}

/**
 * Hands unique events on to syslog collectors (docs/syslog-sink.md). A write resolves once a collector's connection
 * took every byte (TCP/TLS: the socket's write callback, after waiting for 'drain' whenever its buffer is full; UDP:
 * the kernel took each datagram), so the uploader acks its AMQP deliveries only then. A write that fails on one
 * collector goes whole to the next; when none is left it throws and the uploader retries it with backoff. A write
 * cut off mid-way is sent again whole, so a collector may see an event twice: with the same id element.
 */
export class SyslogSink implements Sink {
  private readonly pool: SyslogServerPool;
  private readonly metrics: SyslogSinkMetrics;

  constructor(
    private readonly options: SyslogSinkOptions,
    registry: Registry,
    private readonly log: Logger,
    readonly name = 'syslog',
  ) {
    this.metrics = createSyslogSinkMetrics(registry);
    this.pool = new SyslogServerPool(options, this.metrics, name, log.child({ sink: name }));
    log.info(
      {
        sink: name,
        servers: options.servers.map((s) => s.label),
        transport: options.transport,
        framing: options.framing,
        idSdId: options.payload.idSdId,
        rfc3164Id: options.payload.rfc3164Id,
      },
      'syslog sink ready',
    );
    if (options.transport === 'udp')
      log.warn({ sink: name }, 'syslog sink over UDP: events are never acknowledged and can be lost without notice');
  }

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    const { events, rejected } = decodeSyslogSinkEvents(batches);
    const o = this.options;
    const outgoing: Outgoing[] = events.map((e) => eventPayload(e.id, e.envelope, e.raw, o.payload));
    for (const r of rejected) {
      const head = `<${o.payload.pri}>1 - - ${REJECTED_APP_NAME} - - `;
      outgoing.push({
        bytes: Buffer.concat([
          Buffer.from(head),
          idElement(o.payload.idSdId, r.id),
          Buffer.from(' '),
          Buffer.from(rejectedLine(r).trimEnd()),
        ]),
        kind: 'rejected',
      });
    }
    if (rejected.length > 0)
      this.log.error(
        { sink: this.name, count: rejected.length, reason: rejected[0]!.reason },
        'bodies that are not events sent with APP-NAME fanin.rejected',
      );
    const { chunks, sent } = this.wireChunks(outgoing);
    if (chunks.length > 0) {
      const node = await this.pool.deliver((n) => n.write(chunks));
      const server = node.label;
      const labels = { sink: this.name, server };
      for (const out of sent)
        this.metrics.eventsSent.inc({ ...labels, kind: out.kind === 'rejected' ? 'rendered' : out.kind });
      this.metrics.bytesSent.inc(
        labels,
        chunks.reduce((n, c) => n + c.length, 0),
      );
      if (o.transport === 'udp') this.metrics.udpUnacknowledged.inc(labels, sent.length);
    }
    return { written: events.length, rejected: rejected.length, receivedAt: events.map((e) => e.envelope.received_at) };
  }

  async close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }

  /** Frames for a stream, one datagram per event for UDP (too large ones counted, not sent). */
  private wireChunks(outgoing: readonly Outgoing[]): { chunks: Buffer[]; sent: Outgoing[] } {
    const o = this.options;
    if (o.transport === 'udp') {
      const sent = outgoing.filter((x) => x.bytes.length <= o.udpMaxBytes);
      const oversize = outgoing.length - sent.length;
      if (oversize > 0) {
        this.metrics.oversize.inc({ sink: this.name }, oversize);
        this.log.warn(
          { sink: this.name, count: oversize, udpMaxBytes: o.udpMaxBytes },
          'events larger than udpMaxBytes not sent over UDP',
        );
      }
      return { chunks: sent.map((x) => x.bytes), sent };
    }
    if (o.framing === 'non-transparent') {
      const split = outgoing.filter((x) => splitsWithoutOctetCounting(x.bytes)).length;
      if (split > 0) this.metrics.splitEvents.inc({ sink: this.name }, split);
    }
    return { chunks: outgoing.map((x) => Buffer.concat(frame(x.bytes, o.framing))), sent: [...outgoing] };
  }
}
