import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric of a receiver, created once per process. Labels come from small fixed sets only. */
export function createReceiverMetrics(registry: Registry) {
  const registers = [registry];
  return {
    eventsReceived: new Counter({
      name: 'fanin_receiver_events_received_total', help: 'Events (copies) accepted by this receiver.',
      labelNames: ['protocol', 'transport'] as const, registers,
    }),
    parseErrors: new Counter({
      name: 'fanin_receiver_parse_errors_total', help: 'Events kept as format "raw" because they did not parse.',
      labelNames: ['protocol', 'code'] as const, registers,
    }),
    framesRejected: new Counter({
      name: 'fanin_receiver_frames_rejected_total', help: 'Input refused at the framing level (the connection is closed or the datagram dropped).',
      labelNames: ['transport', 'reason'] as const, registers,
    }),
    udpDrops: new Counter({
      name: 'fanin_receiver_udp_drops_total', help: 'UDP datagrams dropped (UDP cannot be paused): oversize or memory bound reached.',
      labelNames: ['reason'] as const, registers,
    }),
    connections: new Gauge({
      name: 'fanin_receiver_connections', help: 'Open stream connections.', labelNames: ['transport'] as const, registers,
    }),
    batchesPublished: new Counter({ name: 'fanin_receiver_batches_published_total', help: 'Batches confirmed by the broker.', registers }),
    bytesPublished: new Counter({ name: 'fanin_receiver_published_bytes_total', help: 'Bytes of batches confirmed by the broker.', registers }),
    eventsPublished: new Counter({ name: 'fanin_receiver_events_published_total', help: 'Events in batches confirmed by the broker.', registers }),
    publishFailures: new Counter({
      name: 'fanin_receiver_publish_failures_total', help: 'Batch publishes that were not confirmed (retried with the same batch id).',
      labelNames: ['code'] as const, registers,
    }),
    confirmLatency: new Histogram({
      name: 'fanin_receiver_confirm_latency_seconds', help: 'Time from publishing a batch to the broker confirm.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    }),
    batchEvents: new Histogram({
      name: 'fanin_receiver_batch_events', help: 'Events per published batch.',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000], registers,
    }),
    unconfirmedBatches: new Gauge({ name: 'fanin_receiver_unconfirmed_batches', help: 'Batches published and awaiting confirm.', registers }),
    bufferedBatches: new Gauge({ name: 'fanin_receiver_buffered_batches', help: 'Batches held in memory (waiting or unconfirmed).', registers }),
    backpressure: new Gauge({ name: 'fanin_receiver_backpressure', help: '1 while stream inputs are paused for backpressure.', registers }),
    backpressurePauses: new Counter({ name: 'fanin_receiver_backpressure_pauses_total', help: 'Times stream inputs were paused.', registers }),
    spoolBytes: new Gauge({ name: 'fanin_receiver_spool_bytes', help: 'Bytes in the on-disk spool.', registers }),
    spoolSegments: new Gauge({ name: 'fanin_receiver_spool_segments', help: 'Segment files in the on-disk spool.', registers }),
    spooledBatches: new Counter({ name: 'fanin_receiver_spooled_batches_total', help: 'Batches written to the spool because the broker could not take them.', registers }),
    replayedBatches: new Counter({ name: 'fanin_receiver_spool_replayed_batches_total', help: 'Spooled batches published and confirmed.', registers }),
    spoolFull: new Counter({ name: 'fanin_receiver_spool_full_total', help: 'Batches that found the spool full (kept in memory, intake paused).', registers }),
    spoolOldestAge: new Gauge({ name: 'fanin_receiver_spool_oldest_age_seconds', help: 'Age of the oldest spool segment (0 when empty).', registers }),
    httpRequests: new Counter({
      name: 'fanin_receiver_http_requests_total', help: 'HTTP input requests by response status.',
      labelNames: ['status'] as const, registers,
    }),
  };
}

export type ReceiverMetrics = ReturnType<typeof createReceiverMetrics>;
