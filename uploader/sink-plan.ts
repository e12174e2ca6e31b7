import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/config/config-error.js';
import { settings, type Config, type SettingName } from '../shared/config/settings.js';
import { sinkPlugins, sinkTypes, type SinkType } from './sink-registry.js';
import { settingsPrefix } from './sink-plugin.js';
import { severityOption, tagPatternsOption } from './routing/route-options.js';
import { EVERY_EVENT, sinkRoute, type SinkRoute } from './routing/sink-route.js';

export type { SinkType } from './sink-registry.js';

/**
 * One configured sink, resolved at start-up: its name (queue `<ns>.sink.<name>`, metric label), its type, the
 * consumer's policy, and the whole config with the sink's own options laid over its type's settings block, so each
 * sink type reads its options from `settings` exactly as it does for an undefined, type-named sink.
 */
export interface SinkPlan {
  readonly name: string;
  readonly type: SinkType;
  /** Processed batches held unacknowledged. */
  readonly prefetch: number;
  /** Most processed batches written by one sink call. */
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Failed writes before the batches go to the secondary. */
  readonly maxAttempts: number;
  /** Directory of this sink's secondary file sink; null: keep retrying the sink. */
  readonly secondaryDir: string | null;
  /** Which events this sink takes (docs/routing.md); every event unless its definition says otherwise. */
  readonly route: SinkRoute;
  /** True for the sink named by uploader.unroutedSink: it takes the events no other sink takes. */
  readonly takesUnrouted: boolean;
  readonly settings: Config;
  /** Where an operator sets one of this sink's settings, for error messages. */
  keyOf(setting: SettingName): string;
}

const positive = z.coerce.number().int().positive();
/** Options every named sink may set, whatever its type. */
const COMMON_OPTIONS = {
  prefetch: positive,
  batchSize: positive,
  flushIntervalMs: positive,
  maxAttempts: positive,
  secondaryDir: z.string(),
  match: tagPatternsOption,
  exclude: tagPatternsOption,
  minSeverity: severityOption,
} as const;

/** Option name → setting name, per type, from each plug-in's block (flushIntervalMs is a common option, not the file block's). */
const TYPE_OPTIONS = new Map<SinkType, Map<string, SettingName>>(
  sinkPlugins.map((plugin) => {
    const prefix = settingsPrefix(plugin.type);
    const options = new Map<string, SettingName>();
    for (const [name, spec] of Object.entries(plugin.settings)) {
      const option = spec.key.slice(prefix.length);
      if (!(option in COMMON_OPTIONS)) options.set(option, name as SettingName);
    }
    return [plugin.type, options];
  }),
);

const isSinkType = (v: string): v is SinkType => (sinkTypes as readonly string[]).includes(v);

/**
 * Resolves `sinks` against `sinkDefinitions`, validating every option once, at start-up (every problem is reported
 * with its key). A name without a definition must be a type: `FANIN_SINKS=file,forward` keeps working as before.
 */
export function resolveSinkPlans(config: Config): SinkPlan[] {
  const problems: string[] = [];
  const plans: SinkPlan[] = [];
  const definitions = config.sinkDefinitions as Record<string, Record<string, unknown> & { type: SinkType }>;
  for (const name of config.sinks) {
    const definition = Object.hasOwn(definitions, name) ? definitions[name] : undefined;
    if (!definition) {
      if (isSinkType(name)) plans.push(plan(config, name, name, {}, problems));
      else
        problems.push(
          `sinks: unknown sink "${name}": neither a sink type (${sinkTypes.join(', ')}) nor a name in sinkDefinitions`,
        );
      continue;
    }
    if (isSinkType(name) && definition.type !== name) {
      problems.push(
        `sinkDefinitions.${name}.type: a sink named after a type must be of that type (got "${definition.type}")`,
      );
      continue;
    }
    plans.push(plan(config, name, definition.type, definition, problems));
  }
  problems.push(...unroutedSinkProblems(config, plans));
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** uploader.unroutedSink must name one of `sinks`, and that sink must not route by rules of its own. */
export function unroutedSinkProblems(config: Config, plans: readonly SinkPlan[]): string[] {
  const unrouted = config.unroutedSink;
  if (unrouted === '') return [];
  if (!config.sinks.includes(unrouted))
    return [`${settings.unroutedSink.key} (${settings.unroutedSink.env}): "${unrouted}" is not a name in sinks`];
  const plan = plans.find((p) => p.name === unrouted);
  if (plan && !plan.route.takesEverything) {
    return [
      `sinkDefinitions.${unrouted}: the sink named by ${settings.unroutedSink.key} takes the events no other sink takes; give it no match, exclude or minSeverity`,
    ];
  }
  return [];
}

/** Definitions that no name in `sinks` enables (they get no queue): worth a warning at start-up. */
export function unusedSinkDefinitions(config: Config): string[] {
  return Object.keys(config.sinkDefinitions).filter((name) => !config.sinks.includes(name));
}

function plan(
  config: Config,
  name: string,
  type: SinkType,
  definition: Record<string, unknown>,
  problems: string[],
): SinkPlan {
  const overlaid: Record<string, unknown> = { ...config };
  const fromDefinition = new Map<SettingName, string>();
  const common: Partial<Record<keyof typeof COMMON_OPTIONS, unknown>> = {};
  const typeOptions = TYPE_OPTIONS.get(type)!;
  for (const [option, raw] of Object.entries(definition)) {
    if (option === 'type') continue;
    const key = `sinkDefinitions.${name}.${option}`;
    if (option in COMMON_OPTIONS) {
      const parsed = COMMON_OPTIONS[option as keyof typeof COMMON_OPTIONS].safeParse(raw);
      if (parsed.success) common[option as keyof typeof COMMON_OPTIONS] = parsed.data;
      else problems.push(`${key}: ${parsed.error.issues.map((i) => i.message).join('; ')}; got ${JSON.stringify(raw)}`);
      continue;
    }
    const setting = typeOptions.get(option);
    if (!setting) {
      const known = [...Object.keys(COMMON_OPTIONS), ...typeOptions.keys()].join(', ');
      problems.push(`${key}: unknown option of a ${type} sink (known: ${known})`);
      continue;
    }
    const parsed = (settings[setting].schema as z.ZodType).safeParse(raw);
    if (parsed.success) {
      overlaid[setting] = parsed.data;
      fromDefinition.set(setting, key);
    } else problems.push(`${key}: ${parsed.error.issues.map((i) => i.message).join('; ')}; got ${JSON.stringify(raw)}`);
  }
  const prefetch = (common.prefetch as number | undefined) ?? config.uploaderPrefetch;
  const batchSize = (common.batchSize as number | undefined) ?? Math.max(1, Math.floor(prefetch / 2));
  if (batchSize > prefetch)
    problems.push(
      `sinkDefinitions.${name}.batchSize: ${batchSize} exceeds the prefetch (${prefetch}): a write can only take batches it holds`,
    );
  const secondary = common.secondaryDir as string | undefined;
  const match = common.match as string[] | undefined;
  const exclude = common.exclude as string[] | undefined;
  const minSeverity = common.minSeverity as number | undefined;
  const route =
    match === undefined && exclude === undefined && minSeverity === undefined
      ? EVERY_EVENT
      : sinkRoute(match ?? ['**'], exclude ?? null, minSeverity ?? null);
  return Object.freeze({
    name,
    type,
    prefetch,
    batchSize,
    flushIntervalMs: (common.flushIntervalMs as number | undefined) ?? config.fileSinkFlushMs,
    maxAttempts: (common.maxAttempts as number | undefined) ?? config.sinkMaxAttempts,
    secondaryDir:
      secondary !== undefined
        ? secondary === ''
          ? null
          : secondary
        : config.secondaryDir === ''
          ? null
          : join(config.secondaryDir, name),
    route,
    takesUnrouted: config.unroutedSink !== '' && config.unroutedSink === name,
    settings: Object.freeze(overlaid) as Config,
    keyOf: (setting: SettingName) =>
      fromDefinition.get(setting) ?? `${settings[setting].key} (${settings[setting].env})`,
  });
}
