import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { UdpSocketCounters } from './inputs/udp-kernel-stats.js';

/** Every metric of a receiver, created once per process. Labels come from small fixed sets only. */
export function createReceiverMetrics(registry: Registry) {
  const registers = [registry];
  /** Set by the UDP input once its socket is bound; read at scrape time, so the kernel is asked only when scraped. */
  const udpKernel: { read: (() => UdpSocketCounters | null) | null } = { read: null };
  return {
    udpKernel,
    eventsReceived: new Counter({
      name: 'fanin_receiver_events_received_total',
      help: 'Events (copies) accepted by this receiver.',
      labelNames: ['protocol', 'transport'] as const,
      registers,
    }),
    parseErrors: new Counter({
      name: 'fanin_receiver_parse_errors_total',
      help: 'Events kept as format "raw" because they did not parse.',
      labelNames: ['protocol', 'code'] as const,
      registers,
    }),
    framesRejected: new Counter({
      name: 'fanin_receiver_frames_rejected_total',
      help: 'Input refused at the framing level (the connection is closed or the datagram dropped).',
      labelNames: ['transport', 'reason'] as const,
      registers,
    }),
    framesMsgLenFallback: new Counter({
      name: 'fanin_receiver_frames_msglen_fallback_total',
      help: 'Stream frames that began with digits not followed by SP (no octet count: a line without PRI, such as "2024-01-01 ..."), read as newline-framed instead.',
      labelNames: ['transport'] as const,
      registers,
    }),
    udpDrops: new Counter({
      name: 'fanin_receiver_udp_drops_total',
      help: 'UDP datagrams dropped (UDP cannot be paused): oversize, memory bound reached, or empty (nothing but CR, LF or NUL).',
      labelNames: ['reason'] as const,
      registers,
    }),
    connections: new Gauge({
      name: 'fanin_receiver_connections',
      help: 'Open connections of the TCP inputs: syslog tcp and tls, forward, http.',
      labelNames: ['transport'] as const,
      registers,
    }),
    connectionsAccepted: new Counter({
      name: 'fanin_receiver_connections_accepted_total',
      help: 'Connections admitted under the connection limits (TLS: before the handshake; PROXY protocol: before the header).',
      labelNames: ['transport'] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'fanin_receiver_connections_refused_total',
      help: "Connections closed at once because a connection limit was reached (per address: the PROXY header's sender when it is on).",
      labelNames: ['transport', 'reason'] as const,
      registers,
    }),
    idleTimeouts: new Counter({
      name: 'fanin_receiver_idle_timeouts_total',
      help: 'Connections closed for idleness: syslog after receiver.idleTimeoutMs, http after receiver.httpIdleTimeoutMs (Forward counts its own as fanin_receiver_forward_errors_total{reason="idle_timeout"}).',
      labelNames: ['transport'] as const,
      registers,
    }),
    tlsHandshakeFailures: new Counter({
      name: 'fanin_receiver_tls_handshake_failures_total',
      help: 'TLS connections closed before carrying syslog: timeout, client_certificate, aborted (peer left) or protocol.',
      labelNames: ['reason'] as const,
      registers,
    }),
    udpReceiveBuffer: new Gauge({
      name: 'fanin_receiver_udp_receive_buffer_bytes',
      help: 'Effective SO_RCVBUF of the syslog UDP socket, as the kernel reports it.',
      registers,
    }),
    udpKernelDrops: new Counter({
      name: 'fanin_receiver_udp_kernel_drops_total',
      help: 'Datagrams the kernel dropped for the syslog UDP socket (receive buffer full), from /proc/net/udp on Linux; 0 elsewhere.',
      registers,
      collect() {
        const c = udpKernel.read?.();
        if (c) {
          this.reset();
          this.inc(c.drops);
        }
      },
    }),
    udpReceiveQueue: new Gauge({
      name: 'fanin_receiver_udp_receive_queue_bytes',
      help: "Bytes waiting in the syslog UDP socket's kernel receive queue, from /proc/net/udp.",
      registers,
      collect() {
        const c = udpKernel.read?.();
        if (c) this.set(c.rxQueueBytes);
      },
    }),
    batchesPublished: new Counter({
      name: 'fanin_receiver_batches_published_total',
      help: 'Batches confirmed by the broker.',
      registers,
    }),
    bytesPublished: new Counter({
      name: 'fanin_receiver_published_bytes_total',
      help: 'Bytes of batches confirmed by the broker.',
      registers,
    }),
    eventsPublished: new Counter({
      name: 'fanin_receiver_events_published_total',
      help: 'Events in batches confirmed by the broker.',
      registers,
    }),
    publishFailures: new Counter({
      name: 'fanin_receiver_publish_failures_total',
      help: 'Batch publishes that were not confirmed (retried with the same batch id).',
      labelNames: ['code'] as const,
      registers,
    }),
    confirmLatency: new Histogram({
      name: 'fanin_receiver_confirm_latency_seconds',
      help: 'Time from publishing a batch to the broker confirm.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchEvents: new Histogram({
      name: 'fanin_receiver_batch_events',
      help: 'Events per published batch.',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    unconfirmedBatches: new Gauge({
      name: 'fanin_receiver_unconfirmed_batches',
      help: 'Batches published and awaiting confirm.',
      registers,
    }),
    bufferedBatches: new Gauge({
      name: 'fanin_receiver_buffered_batches',
      help: 'Batches held in memory (waiting or unconfirmed).',
      registers,
    }),
    backpressure: new Gauge({
      name: 'fanin_receiver_backpressure',
      help: '1 while stream inputs are paused for backpressure.',
      registers,
    }),
    backpressurePauses: new Counter({
      name: 'fanin_receiver_backpressure_pauses_total',
      help: 'Times stream inputs were paused.',
      registers,
    }),
    spoolBytes: new Gauge({ name: 'fanin_receiver_spool_bytes', help: 'Bytes in the on-disk spool.', registers }),
    spoolSegments: new Gauge({
      name: 'fanin_receiver_spool_segments',
      help: 'Segment files in the on-disk spool.',
      registers,
    }),
    spooledBatches: new Counter({
      name: 'fanin_receiver_spooled_batches_total',
      help: 'Batches written to the spool because the broker could not take them.',
      registers,
    }),
    replayedBatches: new Counter({
      name: 'fanin_receiver_spool_replayed_batches_total',
      help: 'Spooled batches published and confirmed.',
      registers,
    }),
    spoolFull: new Counter({
      name: 'fanin_receiver_spool_full_total',
      help: 'Batches that found the spool full (kept in memory, intake paused).',
      registers,
    }),
    spoolOldestAge: new Gauge({
      name: 'fanin_receiver_spool_oldest_age_seconds',
      help: 'Age of the oldest spool segment (0 when empty).',
      registers,
    }),
    spoolMaxBytes: new Gauge({
      name: 'fanin_receiver_spool_max_bytes',
      help: "The spool's size bound (receiver.spool.maxBytes); 0 when the spool is off.",
      registers,
    }),
    idConflict: new Gauge({
      name: 'fanin_receiver_id_conflict',
      help: "1 while another live receiver holds this receiver id's lease in this namespace: the two receivers' copies are counted as repeats.",
      registers,
    }),
    proxyHeaders: new Counter({
      name: 'fanin_receiver_proxy_protocol_headers_total',
      help: "PROXY protocol headers taken, by version (v1, v2) or local (a header naming no sender, such as a balancer's health check: the connection's own address stands).",
      labelNames: ['transport', 'version'] as const,
      registers,
    }),
    proxyRejected: new Counter({
      name: 'fanin_receiver_proxy_protocol_rejected_total',
      help: 'Connections closed because their PROXY protocol header was missing, malformed, of a version not accepted, too large, not complete in time (timeout) or cut short by the peer (aborted).',
      labelNames: ['transport', 'reason'] as const,
      registers,
    }),
    httpTlsHandshakeFailures: new Counter({
      name: 'fanin_receiver_http_tls_handshake_failures_total',
      help: 'HTTPS connections closed because their TLS handshake failed or timed out.',
      registers,
    }),
    httpRequests: new Counter({
      name: 'fanin_receiver_http_requests_total',
      help: 'HTTP input requests by response status.',
      labelNames: ['status'] as const,
      registers,
    }),
  };
}

export type ReceiverMetrics = ReturnType<typeof createReceiverMetrics>;

/** Which inputs a receiver runs, to start their series at 0 (dashboards then show 0 instead of "No data"). */
export interface ReceiverInputs {
  readonly syslog: boolean;
  readonly syslogTls: boolean;
  readonly forward: boolean;
  readonly http: boolean;
  readonly spoolMaxBytes: number;
}

/** Zeros for the label values known at start-up. Labels that only an error names (parse error codes) stay lazy. */
export function initialiseReceiverMetrics(m: ReceiverMetrics, inputs: ReceiverInputs): void {
  const streams: string[] = [];
  if (inputs.syslog) {
    m.eventsReceived.inc({ protocol: 'syslog', transport: 'udp' }, 0);
    m.eventsReceived.inc({ protocol: 'syslog', transport: 'tcp' }, 0);
    for (const reason of ['oversize', 'buffer_full', 'empty']) m.udpDrops.inc({ reason }, 0);
    streams.push('tcp');
  }
  if (inputs.syslogTls) {
    m.eventsReceived.inc({ protocol: 'syslog', transport: 'tls' }, 0);
    streams.push('tls');
  }
  if (inputs.forward) {
    m.eventsReceived.inc({ protocol: 'forward', transport: 'forward' }, 0);
    streams.push('forward');
  }
  if (inputs.http) {
    m.eventsReceived.inc({ protocol: 'http', transport: 'http' }, 0);
    streams.push('http');
  }
  for (const transport of streams) m.connections.set({ transport }, 0);
  for (const code of ['NOT_CONNECTED', 'NACKED', 'UNROUTABLE', 'CHANNEL_CLOSED']) m.publishFailures.inc({ code }, 0);
  m.spoolMaxBytes.set(inputs.spoolMaxBytes);
}
