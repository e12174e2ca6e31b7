import type { ProcessedBatch } from '../../shared/batch-codec.js';
import { NO_SEVERITY, ROUTE_BYTES, UNKNOWN_TAG } from '../../shared/event-route.js';
import { decodeEvent } from '../decoded-events.js';
import { severityOfName } from './severity.js';
import { severityPasses, tagVerdict, type RouteMiss, type SinkRoute } from './sink-route.js';

/** Events no sink takes, by the reason the closest route gave. */
export type UnroutedCounts = Record<RouteMiss, number>;

export interface Selection {
  /** The events this sink writes; null when none (the delivery is acked without a write). */
  readonly batch: ProcessedBatch | null;
  /** Events of the batch this sink's rules left out. */
  readonly left: number;
  /** Counted only by the accounting consumer; zero elsewhere. */
  readonly unrouted: UnroutedCounts;
}

export interface RouteSelectorOptions {
  /** 'own': the events this sink's route takes; 'unrouted': the events no route of `routes` takes (uploader.unroutedSink). */
  readonly keep: SinkRoute | 'unrouted';
  /** The routes of every sink that chooses by its own rules (all but the unrouted sink). */
  readonly routes: readonly SinkRoute[];
  /** Count the events no route takes: exactly one consumer per uploader does, so each event is counted once. */
  readonly account: boolean;
}

/** Tags seen recently, with each route's verdict on them; bounded, since tags come from senders. */
const MAX_CACHED_TAGS = 4096;

/**
 * Chooses a sink's events from a processed batch by their route keys, without decoding bodies. An event without a
 * route key (a batch of an older receiver or worker) is routed by the tag and severity in its body; a body that does
 * not decode goes to every sink that routes by its own rules, whose reject path keeps it with the reason. Deterministic: a redelivered batch
 * selects the same events.
 */
export class RouteSelector {
  private readonly nothingUnrouted: boolean;
  /** Nothing to do: the sink takes every event and nobody needs counting. */
  readonly passesEverything: boolean;
  private readonly verdicts = new Map<string, (RouteMiss | null)[]>();
  private readonly own: SinkRoute | null;

  constructor(private readonly options: RouteSelectorOptions) {
    this.nothingUnrouted = options.routes.some((r) => r.takesEverything);
    this.own = options.keep === 'unrouted' ? null : options.keep;
    this.passesEverything = this.own !== null && this.own.takesEverything && (!options.account || this.nothingUnrouted);
  }

  select(batch: ProcessedBatch): Selection {
    const unrouted: UnroutedCounts = { no_match: 0, excluded: 0, severity: 0 };
    const count = batch.ids.length;
    if (this.passesEverything) return { batch, left: 0, unrouted };
    if (this.own === null && this.nothingUnrouted) return { batch: null, left: count, unrouted };
    const kept: number[] = [];
    const checkUnrouted = !this.nothingUnrouted && (this.options.account || this.own === null);
    // Verdicts of the batch's tag table, once per batch: per event only an index and a severity byte are read.
    const table = batch.routes?.tags.map((tag) => this.verdictsOf(tag));
    const keys = batch.routes?.keys;
    for (let i = 0; i < count; i++) {
      let verdicts: (RouteMiss | null)[];
      let severity: number;
      const t = keys === undefined ? UNKNOWN_TAG : (keys[i * ROUTE_BYTES]! << 8) | keys[i * ROUTE_BYTES + 1]!;
      if (t !== UNKNOWN_TAG) {
        verdicts = table![t]!;
        severity = keys![i * ROUTE_BYTES + 2]!;
      } else {
        const route = this.routeFromBody(batch, i);
        if (route === null) {
          if (this.own !== null || this.options.routes.length === 0) kept.push(i);
          continue;
        }
        verdicts = this.verdictsOf(route.tag);
        severity = route.severity;
      }
      const miss = checkUnrouted ? unroutedReason(this.options.routes, verdicts, severity) : null;
      if (miss !== null && this.options.account) unrouted[miss]++;
      const takes =
        this.own === null
          ? miss !== null
          : verdicts[this.options.routes.length] === null && severityPasses(this.own, severity);
      if (takes) kept.push(i);
    }
    return { batch: subset(batch, kept), left: count - kept.length, unrouted };
  }

  /** An event without a route key: its tag and severity from its body; null when the body does not decode. */
  private routeFromBody(batch: ProcessedBatch, i: number): { tag: string; severity: number } | null {
    const decoded = decodeEvent(batch.ids[i]!, batch.bodies[i]!);
    if (!('envelope' in decoded)) return null;
    return { tag: decoded.envelope.tag, severity: severityOfName(decoded.envelope.severity) ?? NO_SEVERITY };
  }

  /** Each route's tag verdict, then the own route's last (absent for the unrouted sink). */
  private verdictsOf(tag: string): (RouteMiss | null)[] {
    let v = this.verdicts.get(tag);
    if (v === undefined) {
      v = this.options.routes.map((r) => tagVerdict(r, tag));
      if (this.own !== null) v.push(tagVerdict(this.own, tag));
      if (this.verdicts.size >= MAX_CACHED_TAGS) this.verdicts.clear();
      this.verdicts.set(tag, v);
    }
    return v;
  }
}

/** Null when some route takes the event; else the reason of the route that came closest (severity, exclude, match). */
export function unroutedReason(
  routes: readonly SinkRoute[],
  verdicts: readonly (RouteMiss | null)[],
  severity: number,
): RouteMiss | null {
  let reason: RouteMiss = 'no_match';
  for (let r = 0; r < routes.length; r++) {
    const v = verdicts[r];
    if (v === null) {
      if (severityPasses(routes[r]!, severity)) return null;
      reason = 'severity';
    } else if (v === 'excluded' && reason === 'no_match') {
      reason = 'excluded';
    }
  }
  return reason;
}

function subset(batch: ProcessedBatch, kept: readonly number[]): ProcessedBatch | null {
  if (kept.length === batch.ids.length) return batch;
  if (kept.length === 0) return null;
  return {
    sourceBatchId: batch.sourceBatchId,
    ids: kept.map((i) => batch.ids[i]!),
    bodies: kept.map((i) => batch.bodies[i]!),
  };
}

/**
 * One selector per plan, in order. The sink named by uploader.unroutedSink keeps what no other sink takes; one
 * consumer counts the unrouted events (that sink's, else the first sink's: every sink's queue sees every batch).
 */
export function routeSelectors(
  plans: readonly { readonly route: SinkRoute; readonly takesUnrouted: boolean }[],
): RouteSelector[] {
  const routes = plans.filter((p) => !p.takesUnrouted).map((p) => p.route);
  const accountant = Math.max(
    0,
    plans.findIndex((p) => p.takesUnrouted),
  );
  return plans.map(
    (p, i) => new RouteSelector({ keep: p.takesUnrouted ? 'unrouted' : p.route, routes, account: i === accountant }),
  );
}
