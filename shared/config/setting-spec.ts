import { z } from 'zod';

/**
 * One setting as data: its config-file key, its environment variable, its schema and default. The core settings
 * (settings.ts) and each sink plug-in's settings (uploader/<type>-sink/settings.ts) are built with the same helper,
 * so the environment name is derived one way for all of them.
 */
export interface SettingSpec<T> {
  readonly key: string;
  readonly env: string;
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly doc: string;
}

export function setting<T>(key: string, schema: z.ZodType<T>, defaultValue: T, doc: string): SettingSpec<T> {
  const env =
    'FANIN_' +
    key
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase();
  return { key, env, schema, default: defaultValue, doc };
}

/** A table of settings, keyed by the name the code reads them by (`config.fileSinkDir`). */
export type SettingTable = Readonly<Record<string, SettingSpec<unknown>>>;

export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);
export const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);
export const sqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _, at most 40, not starting with a digit');
