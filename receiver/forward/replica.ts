import { isEventId } from '../../shared/event-key.js';

/** How a fleet recognises events another fleet's Forward sink replicated to it (docs/replication.md). */
export interface ReplicationConfig {
  /** This fleet's id: an event whose path already holds it has gone round a loop. */
  readonly fleetId: string;
  /** Record key of the original fanin id. */
  readonly idKey: string;
  /** Record key of the fleets the event passed, its origin first. */
  readonly pathKey: string;
}

/** Longest path accepted: far more fleets than any replication set-up chains, small enough to bound a record. */
export const MAX_PATH_FLEETS = 32;
const FLEET_ID = /^[A-Za-z0-9_-]{1,32}$/;

export type ReplicaClass =
  /** No path key: an ordinary event (a plain forwarder, or a fleet without an id). */
  | { readonly kind: 'ordinary' }
  /** The path holds this fleet: dropped, counted. */
  | { readonly kind: 'loop' }
  /** A path key with something that is not a path, or without a valid id: kept as an ordinary event, counted. */
  | { readonly kind: 'invalid' }
  | {
      readonly kind: 'replica';
      readonly originId: string;
      readonly path: string[];
      readonly record: Record<string, unknown>;
    };

/**
 * Pure: what a record that came in on the Forward input is. A replica's record is returned without the two keys,
 * so it is the record its origin fleet took in (the next hop's sink adds them again).
 */
export function classifyReplica(record: Record<string, unknown>, config: ReplicationConfig): ReplicaClass {
  if (!Object.hasOwn(record, config.pathKey)) return { kind: 'ordinary' };
  const path = record[config.pathKey];
  const originId = record[config.idKey];
  if (!Array.isArray(path) || path.length === 0 || path.length > MAX_PATH_FLEETS) return { kind: 'invalid' };
  if (!path.every((f): f is string => typeof f === 'string' && FLEET_ID.test(f))) return { kind: 'invalid' };
  if (typeof originId !== 'string' || !isEventId(originId)) return { kind: 'invalid' };
  if (path.includes(config.fleetId)) return { kind: 'loop' };
  const stripped: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (k !== config.idKey && k !== config.pathKey) stripped[k] = v;
  return { kind: 'replica', originId, path, record: stripped };
}
