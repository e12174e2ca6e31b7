import type { Backoff } from '../backoff.js';

/**
 * The broker endpoints of a process: `amqpUrl` is one URL or a comma-separated list (the nodes of a RabbitMQ
 * cluster). Pure functions, so the list handling and the per-process order are testable without a broker.
 */

/** One entry of the list is not an AMQP URL; names the entry (password hidden) so the operator can find it. */
export class BrokerUrlError extends Error {
  override readonly name = 'BrokerUrlError';
  readonly code = 'AMQP_URL_INVALID';
  constructor(
    readonly entry: string,
    why: string,
  ) {
    super(`amqpUrl entry "${redactUrl(entry)}" ${why}`);
  }
}

/** Splits and validates the list; throws BrokerUrlError naming the first bad entry. */
export function parseAmqpUrls(value: string): string[] {
  const entries = value.split(',').map((x) => x.trim());
  if (entries.every((x) => x === ''))
    throw new BrokerUrlError(value, 'is empty: give at least one amqp:// or amqps:// URL');
  return entries.map((entry) => {
    if (entry === '') throw new BrokerUrlError(value, 'has an empty entry (two commas in a row, or a trailing comma)');
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new BrokerUrlError(entry, 'is not a URL');
    }
    if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')
      throw new BrokerUrlError(entry, `has scheme "${url.protocol}": use amqp:// or amqps://`);
    if (url.hostname === '') throw new BrokerUrlError(entry, 'has no host');
    return entry;
  });
}

/**
 * The list in an order of this process's own (Fisher-Yates with `random`): processes that all start on the same
 * list spread over the nodes instead of all connecting to the first one.
 */
export function shuffledEndpoints(urls: readonly string[], random: () => number = Math.random): string[] {
  const out = [...urls];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Reconnect delays of every broker connection: quick after a blip, capped so a node that is gone is not hammered. */
export const BROKER_BACKOFF: Backoff = { initialDelayMs: 200, maxDelayMs: 10_000 };

/** The endpoint after `index`: a failed or lost node is followed by the next one, round the list. */
export function nextEndpointIndex(index: number, count: number): number {
  return (index + 1) % count;
}

/** A URL (or a comma-separated list) with every password replaced, for logs and error messages. */
export function redactUrl(value: string): string {
  return value
    .split(',')
    .map((entry) => {
      const trimmed = entry.trim();
      try {
        const u = new URL(trimmed);
        if (u.password) u.password = '***';
        return u.toString();
      } catch {
        return '<invalid url>'; // never echo text that may hold a password
      }
    })
    .join(',');
}
