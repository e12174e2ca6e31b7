import { fileSinkPlugin } from './file-sink/plugin.js';
import { forwardSinkPlugin } from './forward-sink/plugin.js';
import { httpSinkPlugin } from './http-sink/plugin.js';
import { postgresSinkPlugin } from './postgres-sink/plugin.js';
import type { SinkPlugin } from './sink-plugin.js';
import { stdoutSinkPlugin } from './stdout-sink/plugin.js';
import { syslogSinkPlugin } from './syslog-sink/plugin.js';

/**
 * Every kind of sink the uploader can run. Adding one is a folder with a plugin.ts (docs/sinks.md, "Adding a sink")
 * and one line here: its settings join the settings table, its type the accepted `type` values and `sinks` names.
 * The order is the order of the settings in docs/configuration.md.
 */
export const sinkPlugins = [
  fileSinkPlugin,
  forwardSinkPlugin,
  postgresSinkPlugin,
  httpSinkPlugin,
  stdoutSinkPlugin,
  syslogSinkPlugin,
] as const;

export type SinkType = (typeof sinkPlugins)[number]['type'];

/** The kinds of sink the uploader can run; a named sink picks one with its `type`. */
export const sinkTypes = sinkPlugins.map((p) => p.type) as [SinkType, ...SinkType[]];

export function sinkPlugin(type: SinkType): SinkPlugin {
  return sinkPlugins.find((p) => p.type === type) as SinkPlugin;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** The settings of every sink type, one table (their names never collide: each carries its type). */
export type SinkSettings = UnionToIntersection<(typeof sinkPlugins)[number]['settings']>;

export function allSinkSettings(): SinkSettings {
  const out: Record<string, unknown> = {};
  for (const plugin of sinkPlugins) {
    for (const [name, spec] of Object.entries(plugin.settings)) {
      if (Object.hasOwn(out, name)) throw new Error(`sink plug-in "${plugin.type}": setting name ${name} is taken`);
      out[name] = spec;
    }
  }
  return out as SinkSettings;
}
