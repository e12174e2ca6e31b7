import { Counter, type Registry } from 'prom-client';

const perRegistry = new WeakMap<Registry, ReturnType<typeof build>>();

/** One set per registry, labelled by sink name (a small fixed set from the configuration). */
export function postgresSinkMetrics(registry: Registry) {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = build(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

function build(registry: Registry) {
  const registers = [registry];
  const sink = ['sink'] as const;
  return {
    rowsInserted: new Counter({
      name: 'fanin_uploader_postgres_rows_inserted_total',
      help: 'Event rows inserted (committed).',
      labelNames: sink,
      registers,
    }),
    conflicts: new Counter({
      name: 'fanin_uploader_postgres_conflicts_total',
      help: 'Events already in the table (ON CONFLICT DO NOTHING): replays absorbed by id.',
      labelNames: sink,
      registers,
    }),
    sanitized: new Counter({
      name: 'fanin_uploader_postgres_sanitized_events_total',
      help: 'Events with U+0000 or lone surrogates replaced by U+FFFD (PostgreSQL refuses them).',
      labelNames: sink,
      registers,
    }),
    partitionsCreated: new Counter({
      name: 'fanin_uploader_postgres_partitions_created_total',
      help: 'Daily partitions created.',
      labelNames: sink,
      registers,
    }),
    partitionsDropped: new Counter({
      name: 'fanin_uploader_postgres_partitions_dropped_total',
      help: 'Daily partitions dropped by retention.',
      labelNames: sink,
      registers,
    }),
    maintenanceFailures: new Counter({
      name: 'fanin_uploader_postgres_maintenance_failures_total',
      help: 'Failed partition maintenance runs (retried next hour).',
      labelNames: sink,
      registers,
    }),
  };
}

export type PostgresSinkMetrics = ReturnType<typeof postgresSinkMetrics>;
