import type { Registry } from 'prom-client';
import type { SettingTable } from '../shared/config/setting-spec.js';
import type { Logger } from '../shared/logger.js';
import type { Sink } from './sink.js';
import type { SinkPlan } from './sink-plan.js';

/** What a plug-in needs from the uploader to build one sink. */
export interface SinkContext {
  readonly uploaderId: string;
  readonly registry: Registry;
  readonly log: Logger;
}

/**
 * One kind of sink, as the uploader sees it: each sink folder's plugin.ts exports one, and sink-registry.ts lists
 * them. `settings` is the folder's uploader.<type>Sink.* block (keys `uploader.<type>Sink.<option>`); a named sink
 * of this type takes the same options without the prefix.
 */
export interface SinkPlugin<T extends string = string, S extends SettingTable = SettingTable> {
  readonly type: T;
  readonly settings: S;
  /**
   * Validates the plan's options (pure, throws a ConfigError naming each key) and says how to build the sink. The
   * build is deferred and imports the sink's code then, so loading the settings table (every role, `fanin --help`)
   * never loads a sink's clients.
   */
  prepare(plan: SinkPlan, context: SinkContext): () => Promise<Sink>;
  /** Problems between the plans of this type (two file sinks writing one directory), each naming its key. */
  checkPlans?(plans: readonly SinkPlan[]): string[];
}

/** The settings key prefix of a type's block: a named sink's option `x` is the block's `<prefix>x`. */
export function settingsPrefix(type: string): string {
  return `uploader.${type}Sink.`;
}

/** Identity with the types kept narrow, and a check that the plug-in's settings are its own block. */
export function defineSinkPlugin<T extends string, S extends SettingTable>(plugin: SinkPlugin<T, S>): SinkPlugin<T, S> {
  const prefix = settingsPrefix(plugin.type);
  for (const spec of Object.values(plugin.settings)) {
    if (!spec.key.startsWith(prefix))
      throw new Error(`sink plug-in "${plugin.type}": setting ${spec.key} is outside ${prefix}*`);
  }
  return Object.freeze(plugin);
}
