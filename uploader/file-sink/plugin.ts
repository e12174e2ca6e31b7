import { resolve } from 'node:path';
import { defineSinkPlugin } from '../sink-plugin.js';
import { fileSinkOptionsFromPlan } from './file-sink-config.js';
import { fileSinkSettings } from './settings.js';

/** NDJSON files (docs/sinks.md). */
export const fileSinkPlugin = defineSinkPlugin({
  type: 'file',
  settings: fileSinkSettings,
  prepare(plan, { log }) {
    const options = fileSinkOptionsFromPlan(plan, log);
    return async () => new (await import('./file-sink.js')).FileSink(options);
  },
  checkPlans(plans) {
    const problems: string[] = [];
    const dirs = new Map<string, string>();
    for (const plan of plans) {
      const dir = resolve(plan.settings.fileSinkDir);
      const other = dirs.get(dir);
      if (other)
        problems.push(
          `${plan.keyOf('fileSinkDir')}: file sinks "${other}" and "${plan.name}" would write the same directory ${dir}`,
        );
      dirs.set(dir, plan.name);
    }
    return problems;
  },
});
