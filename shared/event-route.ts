/**
 * The route key of each event of a batch: its tag and, for a parsed syslog event, its severity, known to the receiver
 * when it encodes the event. It travels beside the bodies (new batch → processed batch) so the uploader can route
 * events to sinks without decoding a body (docs/routing.md).
 *
 * A batch's routes are a table of the distinct tags and ROUTE_BYTES per event: the tag's index in the table
 * (uint16, big-endian; UNKNOWN_TAG when the receiver did not say) and the severity (0 emerg … 7 debug;
 * NO_SEVERITY for events that have none: Forward, HTTP, unparsed syslog lines).
 */
export interface EventRoutes {
  readonly tags: readonly string[];
  /** count × ROUTE_BYTES. */
  readonly keys: Uint8Array;
}

/** What an input tells the batcher about one event. */
export interface RouteKey {
  readonly tag: string;
  /** 0..7, or NO_SEVERITY. */
  readonly severity: number;
}

export const ROUTE_BYTES = 3;
export const UNKNOWN_TAG = 0xffff;
export const NO_SEVERITY = 0xff;
/** Distinct tags one batch can name; later ones are written as UNKNOWN_TAG (the uploader then reads the body). */
export const MAX_ROUTE_TAGS = UNKNOWN_TAG;

export function routeTagAt(routes: EventRoutes, index: number): string | null {
  const k = routes.keys;
  const t = (k[index * ROUTE_BYTES]! << 8) | k[index * ROUTE_BYTES + 1]!;
  return t === UNKNOWN_TAG ? null : (routes.tags[t] ?? null);
}

export function routeSeverityAt(routes: EventRoutes, index: number): number {
  return routes.keys[index * ROUTE_BYTES + 2]!;
}

/** The routes of the chosen events, in the given order (the worker passes on the unique events' routes). */
export function selectRoutes(routes: EventRoutes, indices: readonly number[]): EventRoutes {
  const keys = new Uint8Array(indices.length * ROUTE_BYTES);
  indices.forEach((from, to) =>
    keys.set(routes.keys.subarray(from * ROUTE_BYTES, (from + 1) * ROUTE_BYTES), to * ROUTE_BYTES),
  );
  return { tags: routes.tags, keys };
}

/** Problems of a decoded route table, or null: indices must name a tag of the table (or be UNKNOWN_TAG). */
export function routesProblem(tags: unknown, keys: unknown, count: number): string | null {
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    return 'route tags are not an array of strings';
  if (!(keys instanceof Uint8Array) || keys.byteLength !== count * ROUTE_BYTES)
    return `route keys are not ${count} × ${ROUTE_BYTES} bytes`;
  for (let i = 0; i < count; i++) {
    const t = (keys[i * ROUTE_BYTES]! << 8) | keys[i * ROUTE_BYTES + 1]!;
    if (t !== UNKNOWN_TAG && t >= tags.length) return `route key ${i} names tag ${t} of ${tags.length}`;
  }
  return null;
}

/**
 * Builds one batch's routes as events are added: the tag table stays small (a batch usually carries a few tags),
 * and each event costs one Map lookup and three bytes.
 */
export class RouteTableBuilder {
  private tags: string[] = [];
  private index = new Map<string, number>();
  private keys: Uint8Array;
  /** Consecutive events mostly share a tag (one sender, one Forward chunk): skip the Map lookup for a repeat. */
  private lastTag: string | null = null;
  private lastIndex = UNKNOWN_TAG;

  constructor(maxEvents: number) {
    this.keys = new Uint8Array(maxEvents * ROUTE_BYTES);
  }

  /** Sets event `position`'s route; returns the bytes it added to the batch (a new tag's length, and the key). */
  set(position: number, route: RouteKey | undefined): number {
    let added = ROUTE_BYTES;
    let t = UNKNOWN_TAG;
    if (route !== undefined && route.tag === this.lastTag) {
      t = this.lastIndex;
    } else if (route !== undefined) {
      const known = this.index.get(route.tag);
      if (known !== undefined) t = known;
      else if (this.tags.length < MAX_ROUTE_TAGS) {
        t = this.tags.length;
        this.tags.push(route.tag);
        this.index.set(route.tag, t);
        added += Buffer.byteLength(route.tag) + 1;
      }
      this.lastTag = route.tag;
      this.lastIndex = t;
    }
    const offset = position * ROUTE_BYTES;
    if (offset + ROUTE_BYTES > this.keys.byteLength) {
      const grown = new Uint8Array(Math.max(this.keys.byteLength * 2, offset + ROUTE_BYTES));
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys[offset] = t >> 8;
    this.keys[offset + 1] = t & 0xff;
    this.keys[offset + 2] = route === undefined ? NO_SEVERITY : route.severity;
    return added;
  }

  /** The routes of the first `count` events, and a fresh table for the next batch. */
  take(count: number): EventRoutes {
    const routes = { tags: this.tags, keys: this.keys.slice(0, count * ROUTE_BYTES) };
    this.tags = [];
    this.index = new Map();
    this.lastTag = null;
    this.lastIndex = UNKNOWN_TAG;
    return routes;
  }
}

/** Routes of a group built in one go (an oversized Forward chunk that travels as a batch of its own). */
export function routesOf(entries: readonly (RouteKey | undefined)[]): EventRoutes {
  const builder = new RouteTableBuilder(entries.length);
  entries.forEach((route, i) => builder.set(i, route));
  return builder.take(entries.length);
}
