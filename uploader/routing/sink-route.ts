import { NO_SEVERITY } from '../../shared/event-route.js';
import { compileTagPatterns, type TagPattern } from './tag-pattern.js';

/** Why a route leaves an event out; the reason an event no sink takes is counted under. */
export type RouteMiss = 'no_match' | 'excluded' | 'severity';

/**
 * Which events one sink takes: tags matching `match` and not `exclude`, and, for events with a syslog severity, at
 * least `minSeverity` (that number or lower). Events without a severity (Forward, HTTP, syslog lines that did not
 * parse) are not held back by `minSeverity`.
 */
export interface SinkRoute {
  readonly match: TagPattern;
  readonly exclude: TagPattern | null;
  /** 0..7, or null: every severity. */
  readonly minSeverity: number | null;
  /** `**`, no exclude, no minSeverity: every event, and the uploader skips routing for this sink. */
  readonly takesEverything: boolean;
}

export const EVERY_EVENT: SinkRoute = Object.freeze({
  match: compileTagPatterns(['**']),
  exclude: null,
  minSeverity: null,
  takesEverything: true,
});

export function sinkRoute(
  match: readonly string[],
  exclude: readonly string[] | null,
  minSeverity: number | null,
): SinkRoute {
  const m = compileTagPatterns(match);
  const x = exclude === null || exclude.length === 0 ? null : compileTagPatterns(exclude);
  return Object.freeze({
    match: m,
    exclude: x,
    minSeverity,
    takesEverything: m.matchesAll && x === null && minSeverity === null,
  });
}

/** The tag half of a route's decision (cached per tag by the selector): taken so far, or why not. */
export function tagVerdict(route: SinkRoute, tag: string): RouteMiss | null {
  if (!route.match.test(tag)) return 'no_match';
  if (route.exclude?.test(tag)) return 'excluded';
  return null;
}

/** The severity half: does an event with this severity pass? */
export function severityPasses(route: SinkRoute, severity: number): boolean {
  return route.minSeverity === null || severity === NO_SEVERITY || severity <= route.minSeverity;
}
