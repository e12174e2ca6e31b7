import { UsageError } from './usage-error.js';

/**
 * A whole number option within [min, max]. Number() alone would take "", " 7", "0x10" and "1e3", and "abc" would
 * become NaN ports; only plain decimal digits are accepted.
 */
export function integerOption(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  command: string,
): number {
  if (raw === undefined) return fallback;
  const value = /^-?\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag}: a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`, command);
  }
  return value;
}

/** A non-negative decimal option (a rate may be 0.5 per second) up to max. */
export function decimalOption(
  flag: string,
  raw: string | undefined,
  fallback: number,
  max: number,
  command: string,
): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,15}(\.\d{1,15})?$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(value) || value > max)
    throw new UsageError(`--${flag}: a number from 0 to ${max}, got ${JSON.stringify(raw)}`, command);
  return value;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host:port[,host:port…]", IPv6 as "[addr]:port"; ports 1 to 65535. */
export function hostPortList(flag: string, raw: string | undefined, command: string): HostPort[] {
  const items = (raw ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag}: give host:port[,host:port…]`, command);
  return items.map((item) => {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new UsageError(`--${flag}: "${item}" is not host:port (port 1 to 65535; IPv6 as [addr]:port)`, command);
    }
    return { host: m[1] ?? m[2]!, port };
  });
}

export function choiceOption<T extends string>(
  flag: string,
  raw: string | undefined,
  fallback: T,
  choices: readonly T[],
  command: string,
): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw))
    throw new UsageError(`--${flag}: one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`, command);
  return raw as T;
}
