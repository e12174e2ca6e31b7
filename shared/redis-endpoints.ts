/**
 * What `redisUrl` names, as data: one Redis, a Sentinel group watching a master, or a Redis Cluster. Pure: no socket,
 * so every form and every mistake is unit-testable, and the client factory only maps fields onto ioredis options.
 *
 *   redis[s]://[user:pass@]host:port[/db]                         one node
 *   redis[s]+sentinel://[user:pass@]h1:p1,h2:p2,h3:p3/<master>     Sentinel (credentials are the data nodes')
 *   redis[s]+cluster://[user:pass@]h1:p1,h2:p2,h3:p3               Redis Cluster (seed nodes)
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

interface Common {
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
}

export type RedisEndpoints =
  | (Common & { readonly mode: 'single'; readonly node: HostPort; readonly db: number })
  | (Common & { readonly mode: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly masterName: string })
  | (Common & { readonly mode: 'cluster'; readonly nodes: readonly HostPort[] });

export type RedisMode = RedisEndpoints['mode'];

/** A redisUrl that names no usable Redis; the message says which part is wrong and shows the expected form. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
  readonly code = 'REDIS_URL_INVALID';
}

const FORMS =
  'expected redis://[user:pass@]host:port, redis+sentinel://[user:pass@]h1:p1,h2:p2/<master-name> ' +
  'or redis+cluster://[user:pass@]h1:p1,h2:p2 (rediss… for TLS)';
const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

export function parseRedisUrl(url: string): RedisEndpoints {
  const scheme = /^(rediss?)(?:\+(sentinel|cluster))?:\/\//i.exec(url);
  if (!scheme) throw new RedisUrlError(`unknown scheme in "${redactRedisUrl(url)}": ${FORMS}`);
  const tls = scheme[1]!.toLowerCase() === 'rediss';
  const mode = (scheme[2]?.toLowerCase() ?? 'single') as RedisMode;
  const rest = url.slice(scheme[0].length);
  const slash = rest.search(/[/?#]/);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  const credentials = parseCredentials(at < 0 ? '' : authority.slice(0, at));
  const hostList = at < 0 ? authority : authority.slice(at + 1);
  const defaultPort = mode === 'sentinel' ? DEFAULT_SENTINEL_PORT : DEFAULT_REDIS_PORT;
  const hosts = hostList.split(',').map((h) => parseHostPort(h.trim(), defaultPort, url));
  const common = { tls, ...credentials };

  if (mode === 'single') {
    if (hosts.length !== 1) {
      throw new RedisUrlError(
        `"${redactRedisUrl(url)}" lists ${hosts.length} hosts: a plain redis:// URL names one node; use redis+sentinel:// or redis+cluster:// for several`,
      );
    }
    const db = /^\/?$/.test(path) ? 0 : Number(/^\/(\d+)$/.exec(path)?.[1] ?? NaN);
    if (!Number.isInteger(db))
      throw new RedisUrlError(`"${redactRedisUrl(url)}": the path must be a database number such as /0, got "${path}"`);
    return { mode, ...common, node: hosts[0]!, db };
  }
  if (mode === 'sentinel') {
    const masterName = decodeURIComponent(/^\/([^/?#]+)\/?$/.exec(path)?.[1] ?? '');
    if (!masterName)
      throw new RedisUrlError(
        `"${redactRedisUrl(url)}": a Sentinel URL ends with the master name, as in redis+sentinel://h1:26379,h2:26379/mymaster`,
      );
    return { mode, ...common, sentinels: hosts, masterName };
  }
  if (!/^\/?$/.test(path)) {
    throw new RedisUrlError(
      `"${redactRedisUrl(url)}": a Redis Cluster URL has no path (a cluster has only database 0), got "${path}"`,
    );
  }
  return { mode, ...common, nodes: hosts };
}

function parseCredentials(userinfo: string): { username?: string; password?: string } {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  // redis://:secret@host is the classic "password only" form (requirepass): no user name.
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHostPort(text: string, defaultPort: number, url: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d*))?$/.exec(text) ?? /^([^:[\]\s/]+)(?::(\d*))?$/.exec(text);
  if (!m) {
    throw new RedisUrlError(
      text === ''
        ? `"${redactRedisUrl(url)}": empty host (a stray comma, or no host at all)`
        : `"${redactRedisUrl(url)}": "${text}" is not host:port`,
    );
  }
  const port = m[2] === undefined || m[2] === '' ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RedisUrlError(`"${redactRedisUrl(url)}": port of "${text}" must be 1-65535`);
  return { host: m[1]!, port };
}

/** The URL with its password replaced, for logs and error messages. Works on URLs `new URL` refuses (host lists). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)([^@/]*)@/i, (_all, head: string, password: string) =>
    password ? `${head}***@` : `${head}@`,
  );
}

/** Host:port list of the endpoints, for messages. */
export function describeRedisEndpoints(e: RedisEndpoints): string {
  const list = (hs: readonly HostPort[]) => hs.map((h) => `${h.host}:${h.port}`).join(',');
  if (e.mode === 'single') return `${e.node.host}:${e.node.port}`;
  if (e.mode === 'sentinel') return `master "${e.masterName}" via sentinels ${list(e.sentinels)}`;
  return `cluster seeds ${list(e.nodes)}`;
}
