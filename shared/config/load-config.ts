import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { settings, type Config, type SettingName } from './settings.js';

export interface ConfigSources {
  /** Environment variables (FANIN_*). */
  readonly env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file whose keys nest like the setting keys: {"receiver": {"id": "a"}}. */
  readonly file?: string;
  /** Highest precedence; used by `fanin up` to give each process of the local fleet its own ports and id. */
  readonly overrides?: Partial<Record<SettingName, unknown>>;
}

/** Precedence: defaults < config file < environment < overrides. Validates everything once and freezes the result. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const filePath = sources.file ?? env.FANIN_CONFIG;
  const fileValues = filePath ? readConfigFile(filePath) : {};
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(settings) as [SettingName, (typeof settings)[SettingName]][]) {
    let raw: unknown = spec.default;
    let origin = 'default';
    const fromFile = lookupDotted(fileValues, spec.key);
    if (fromFile !== undefined) { raw = fromFile; origin = `config file key "${spec.key}"`; }
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') { raw = fromEnv; origin = `environment variable ${spec.env}`; }
    const fromOverride = sources.overrides?.[name];
    if (fromOverride !== undefined) { raw = fromOverride; origin = `override of "${spec.key}"`; }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) config[name] = parsed.data;
    else problems.push(`${spec.key} (${origin}): ${parsed.error.issues.map((i) => i.message).join('; ')}; got ${JSON.stringify(raw)}`);
  }
  for (const unknownKey of unknownFileKeys(fileValues)) problems.push(`${unknownKey}: unknown key in ${filePath}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as Config;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    throw new ConfigError([`FANIN_CONFIG: cannot read ${path}: ${(err as Error).message}`]);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('top level is not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`FANIN_CONFIG: ${path} is not a JSON object: ${(err as Error).message}`]);
  }
}

function lookupDotted(values: Record<string, unknown>, key: string): unknown {
  let node: unknown = values;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function unknownFileKeys(values: Record<string, unknown>, prefix = ''): string[] {
  const known = new Set(Object.values(settings).map((s) => s.key));
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const key = prefix + k;
    if (known.has(key)) continue;
    const isBranch = typeof v === 'object' && v !== null && !Array.isArray(v)
      && [...known].some((kn) => kn.startsWith(key + '.'));
    if (isBranch) out.push(...unknownFileKeys(v as Record<string, unknown>, key + '.'));
    else out.push(key);
  }
  return out;
}
