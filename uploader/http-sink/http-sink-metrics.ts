import { Counter, type Registry } from 'prom-client';

const perRegistry = new WeakMap<Registry, ReturnType<typeof build>>();

/** One set per registry, labelled by sink name; `result` is one of ok, retry, permanent, error. */
export function httpSinkMetrics(registry: Registry) {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = build(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

function build(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'fanin_uploader_http_requests_total',
      help: 'HTTP sink requests by result: ok, retry (429/5xx/409), permanent (other 4xx), error (no answer).',
      labelNames: ['sink', 'result'] as const,
      registers,
    }),
    bulkConflicts: new Counter({
      name: 'fanin_uploader_http_bulk_conflicts_total',
      help: 'Bulk creates answered 409: the document was already there (a replay absorbed by _id).',
      labelNames: ['sink'] as const,
      registers,
    }),
    batchesSkipped: new Counter({
      name: 'fanin_uploader_http_batches_skipped_total',
      help: 'Batches of a retried write that the server had already accepted (not sent again).',
      labelNames: ['sink'] as const,
      registers,
    }),
  };
}

export type HttpSinkMetrics = ReturnType<typeof httpSinkMetrics>;
