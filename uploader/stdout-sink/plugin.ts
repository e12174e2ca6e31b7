import { defineSinkPlugin } from '../sink-plugin.js';

/** NDJSON lines on standard output, for trying things out; no settings of its own. */
export const stdoutSinkPlugin = defineSinkPlugin({
  type: 'stdout',
  settings: {},
  prepare(plan) {
    return async () => new (await import('./stdout-sink.js')).StdoutSink(plan.name);
  },
  checkPlans(plans) {
    return plans.length > 1 ? ['sinks: at most one stdout sink'] : [];
  },
});
