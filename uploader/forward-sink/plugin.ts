import { defineSinkPlugin } from '../sink-plugin.js';
import { forwardSinkOptionsFromConfig } from './forward-sink-config.js';
import { forwardSinkSettings } from './settings.js';

/** out_forward to fluentd aggregators (docs/sinks.md). */
export const forwardSinkPlugin = defineSinkPlugin({
  type: 'forward',
  settings: forwardSinkSettings,
  prepare(plan, { registry, log }) {
    const options = forwardSinkOptionsFromConfig(plan.settings);
    return async () => new (await import('./forward-sink.js')).ForwardSink(options, registry, log, plan.name);
  },
});
