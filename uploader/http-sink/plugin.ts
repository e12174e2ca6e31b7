import { defineSinkPlugin } from '../sink-plugin.js';
import { httpSinkOptionsFromPlan } from './http-sink-config.js';
import { httpSinkSettings } from './settings.js';

/** NDJSON POSTs or the Elasticsearch/OpenSearch _bulk API (docs/sinks.md). */
export const httpSinkPlugin = defineSinkPlugin({
  type: 'http',
  settings: httpSinkSettings,
  prepare(plan, { registry, log }) {
    const options = httpSinkOptionsFromPlan(plan);
    return async () => new (await import('./http-sink.js')).HttpSink(options, registry, log);
  },
});
