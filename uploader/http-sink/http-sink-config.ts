import { ConfigError } from '../../shared/config/config-error.js';
import { compileFileNamePattern, type FileNamePattern } from '../ndjson/path-pattern.js';
import type { SinkPlan } from '../sink-plan.js';

export interface HttpSinkOptions {
  readonly name: string;
  /** Where each request goes: the NDJSON endpoint, or `<base>/_bulk`. */
  readonly endpoint: string;
  readonly mode: 'ndjson' | 'bulk';
  /** Bulk mode: the index of each event, from its UTC receipt time. */
  readonly index: FileNamePattern;
  readonly authorization: string;
  readonly timeoutMs: number;
  readonly compress: boolean;
  readonly concurrency: number;
}

export function httpSinkOptionsFromPlan(plan: SinkPlan): HttpSinkOptions {
  const s = plan.settings;
  const problems: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(s.httpSinkUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      problems.push(`${plan.keyOf('httpSinkUrl')}: expected an http:// or https:// URL`);
    if (url.username || url.password)
      problems.push(
        `${plan.keyOf('httpSinkUrl')}: put credentials in ${plan.keyOf('httpSinkAuthorization')}, not in the URL`,
      );
  } catch {
    problems.push(
      `${plan.keyOf('httpSinkUrl')}: the HTTP sink needs a URL (http://host:port/path); got ${JSON.stringify(s.httpSinkUrl)}`,
    );
  }
  let index: FileNamePattern | null = null;
  try {
    index = compileFileNamePattern(s.httpSinkIndex, 'utc', true);
  } catch (err) {
    if (s.httpSinkMode === 'bulk') problems.push(`${plan.keyOf('httpSinkIndex')}: ${(err as Error).message}`);
  }
  if (s.httpSinkMode === 'bulk' && index && !/^[a-z0-9][a-z0-9._+-]*$/.test(index.format(Date.now()))) {
    problems.push(`${plan.keyOf('httpSinkIndex')}: an index name is lower-case letters, digits and . _ + -`);
  }
  if (problems.length > 0 || !url) throw new ConfigError(problems);
  let endpoint = url.toString();
  if (s.httpSinkMode === 'bulk' && !url.pathname.endsWith('/_bulk'))
    endpoint = endpoint.replace(/\/?(\?.*)?$/, (_m, query?: string) => `/_bulk${query ?? ''}`);
  return Object.freeze({
    name: plan.name,
    endpoint,
    mode: s.httpSinkMode,
    index: index ?? compileFileNamePattern('fanin-%Y.%m.%d', 'utc'),
    authorization: s.httpSinkAuthorization,
    timeoutMs: s.httpSinkTimeoutMs,
    compress: s.httpSinkCompress,
    concurrency: s.httpSinkConcurrency,
  });
}
