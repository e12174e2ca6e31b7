import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { settings, type Config, type SettingName } from './settings.js';
import { redactUrl } from '../amqp/broker-endpoints.js';

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
  // Named the way the operator gave it, so the error points at the right place to fix.
  const fileLabel = sources.file ? `--config ${sources.file}` : `FANIN_CONFIG ${filePath}`;
  const fileValues = filePath ? readConfigFile(filePath, fileLabel) : {};
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(settings) as [SettingName, (typeof settings)[SettingName]][]) {
    let raw: unknown = spec.default;
    let origin = 'default';
    const fromFile = lookupDotted(fileValues, spec.key);
    if (fromFile !== undefined) {
      raw = fromFile;
      origin = `key "${spec.key}" of ${fileLabel}`;
    }
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      origin = `environment variable ${spec.env}`;
    }
    const fromOverride = sources.overrides?.[name];
    if (fromOverride !== undefined) {
      raw = fromOverride;
      origin = `override of "${spec.key}"`;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) config[name] = parsed.data;
    else
      problems.push(
        `${spec.key} (${origin}): ${parsed.error.issues.map((i) => i.message).join('; ')}; got ${JSON.stringify(shownValue(spec.key, raw))}`,
      );
  }
  for (const unknownKey of unknownFileKeys(fileValues)) problems.push(`${unknownKey}: unknown key in ${fileLabel}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as Config;
}

function readConfigFile(path: string, label: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${label}: cannot read it: ${(err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${label}: not valid JSON: ${withLineAndColumn((err as Error).message, text)}`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new ConfigError([`${label}: the top level must be a JSON object ({"receiver": {"id": "a"}, …}), got ${got}`]);
  }
  return value as Record<string, unknown>;
}

/** V8 says "at position 42"; an editor wants a line and a column. */
function withLineAndColumn(message: string, text: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m || /\bline \d+/.test(message)) return message;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return `${message} (line ${line} column ${before.length - before.lastIndexOf('\n')})`;
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
    const isBranch =
      typeof v === 'object' && v !== null && !Array.isArray(v) && [...known].some((kn) => kn.startsWith(key + '.'));
    if (isBranch) out.push(...unknownFileKeys(v as Record<string, unknown>, key + '.'));
    else out.push(key);
  }
  return out;
}

/** A URL setting may carry a password: error messages show it hidden. */
function shownValue(key: string, raw: unknown): unknown {
  return key.endsWith('Url') && typeof raw === 'string' ? redactUrl(raw) : raw;
}
