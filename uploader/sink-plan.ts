import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/config/config-error.js';
import { settings, sinkTypes, type Config, type SettingName } from '../shared/config/settings.js';

export type SinkType = (typeof sinkTypes)[number];

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
  readonly settings: Config;
  /** Where an operator sets one of this sink's settings, for error messages. */
  keyOf(setting: SettingName): string;
}

/** Each type's settings block; a definition's option `x` is the block's `<prefix>x`. */
const TYPE_PREFIX: Record<SinkType, string> = {
  file: 'uploader.fileSink.',
  forward: 'uploader.forwardSink.',
  postgres: 'uploader.postgresSink.',
  http: 'uploader.httpSink.',
  stdout: 'uploader.stdoutSink.',
  syslog: 'uploader.syslogSink.',
};

const positive = z.coerce.number().int().positive();
/** Options every named sink may set, whatever its type. */
const COMMON_OPTIONS = {
  prefetch: positive,
  batchSize: positive,
  flushIntervalMs: positive,
  maxAttempts: positive,
  secondaryDir: z.string(),
} as const;

type SettingEntry = [SettingName, (typeof settings)[SettingName]];

/** Option name → setting name, per type (flushIntervalMs is a common option, not the file block's). */
const TYPE_OPTIONS: Record<SinkType, Map<string, SettingName>> = Object.fromEntries(sinkTypes.map((type) => {
  const prefix = TYPE_PREFIX[type];
  const options = new Map<string, SettingName>();
  for (const [name, spec] of Object.entries(settings) as SettingEntry[]) {
    const option = spec.key.slice(prefix.length);
    if (spec.key.startsWith(prefix) && !(option in COMMON_OPTIONS)) options.set(option, name);
  }
  return [type, options];
})) as Record<SinkType, Map<string, SettingName>>;

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
      else problems.push(`sinks: unknown sink "${name}": neither a sink type (${sinkTypes.join(', ')}) nor a name in sinkDefinitions`);
      continue;
    }
    if (isSinkType(name) && definition.type !== name) {
      problems.push(`sinkDefinitions.${name}.type: a sink named after a type must be of that type (got "${definition.type}")`);
      continue;
    }
    plans.push(plan(config, name, definition.type, definition, problems));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** Definitions that no name in `sinks` enables (they get no queue): worth a warning at start-up. */
export function unusedSinkDefinitions(config: Config): string[] {
  return Object.keys(config.sinkDefinitions).filter((name) => !config.sinks.includes(name));
}

function plan(config: Config, name: string, type: SinkType, definition: Record<string, unknown>, problems: string[]): SinkPlan {
  const overlaid: Record<string, unknown> = { ...config };
  const fromDefinition = new Map<SettingName, string>();
  const common: Partial<Record<keyof typeof COMMON_OPTIONS, unknown>> = {};
  const typeOptions = TYPE_OPTIONS[type];
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
    if (parsed.success) { overlaid[setting] = parsed.data; fromDefinition.set(setting, key); }
    else problems.push(`${key}: ${parsed.error.issues.map((i) => i.message).join('; ')}; got ${JSON.stringify(raw)}`);
  }
  const prefetch = (common.prefetch as number | undefined) ?? config.uploaderPrefetch;
  const batchSize = (common.batchSize as number | undefined) ?? Math.max(1, Math.floor(prefetch / 2));
  if (batchSize > prefetch) problems.push(`sinkDefinitions.${name}.batchSize: ${batchSize} exceeds the prefetch (${prefetch}): a write can only take batches it holds`);
  const secondary = common.secondaryDir as string | undefined;
  return Object.freeze({
    name,
    type,
    prefetch,
    batchSize,
    flushIntervalMs: (common.flushIntervalMs as number | undefined) ?? config.fileSinkFlushMs,
    maxAttempts: (common.maxAttempts as number | undefined) ?? config.sinkMaxAttempts,
    secondaryDir: secondary !== undefined ? (secondary === '' ? null : secondary) : (config.secondaryDir === '' ? null : join(config.secondaryDir, name)),
    settings: Object.freeze(overlaid) as Config,
    keyOf: (setting: SettingName) => fromDefinition.get(setting) ?? `${settings[setting].key} (${settings[setting].env})`,
  });
}
