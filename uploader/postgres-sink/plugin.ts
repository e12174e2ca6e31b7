import { defineSinkPlugin } from '../sink-plugin.js';
import { postgresSinkOptionsFromPlan } from './postgres-sink-config.js';
import { postgresSinkSettings } from './settings.js';

/** Rows of a PostgreSQL table, idempotent by event id (docs/sinks.md). */
export const postgresSinkPlugin = defineSinkPlugin({
  type: 'postgres',
  settings: postgresSinkSettings,
  prepare(plan, { uploaderId, registry, log }) {
    const options = postgresSinkOptionsFromPlan(plan, uploaderId);
    return async () => new (await import('./postgres-sink.js')).PostgresSink(options, registry, log);
  },
});
