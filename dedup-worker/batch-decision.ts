import { keyHexAt, type NewEventBatch } from '../shared/batch-codec.js';
import { eventIdOfHex } from '../shared/event-key.js';
import { selectRoutes, type EventRoutes } from '../shared/event-route.js';

/** The script's answer for one (batch, partition). */
export interface PartitionDecision {
  readonly partition: number;
  readonly indices: readonly number[];
  /** One per index: occurrence number when unique, 0 when a duplicate. */
  readonly occurrences: readonly number[];
  /** The batch was counted before (redelivery): decisions are the stored ones. */
  readonly reused: boolean;
  readonly published: boolean;
  /** Events dropped (decided 0) because their sender chunk was already delivered in another batch. */
  readonly chunkResends: number;
}

export class DecisionFormatError extends Error {
  override readonly name = 'DecisionFormatError';
}

export function parseOccurrences(encoded: string, expected: number): number[] {
  const out = parseDigitList(encoded) ?? (encoded === '' ? [] : encoded.split(',').map(Number));
  if (out.length !== expected || out.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new DecisionFormatError(`dedup script returned ${out.length} decisions for ${expected} events`);
  }
  return out;
}

/**
 * `encoded.split(',').map(Number)` for a list of decimal digits and commas (what the script writes), read in one
 * pass without a string per event; null for anything else, which takes the general rule. Up to 15 digits a number
 * is exact either way, and an empty item is 0 either way.
 */
function parseDigitList(encoded: string): number[] | null {
  if (encoded === '') return [];
  const out: number[] = [];
  let n = 0;
  let digits = 0;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x2c) {
      out.push(n);
      n = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 15) {
      n = n * 10 + (c - 0x30);
      digits++;
    } else return null;
  }
  out.push(n);
  return out;
}

export interface UniqueSelection {
  /** Where the unique events are in the batch, ascending. */
  readonly indices: number[];
  /** Their ids, made on first use: the worker writes them into the processed batch from the keys instead. */
  readonly ids: string[];
  /** Their bodies, gathered on first use. */
  readonly bodies: Uint8Array[];
  readonly occurrences: number[];
  /** The unique events' route keys (absent when the batch came without: an older receiver). */
  readonly routes?: EventRoutes;
  /** Copies of events another receiver (or an earlier copy) delivered first. */
  readonly duplicates: number;
  /** Events of resent chunks, dropped whole. */
  readonly chunkResends: number;
  /** True when every partition of this batch was already published: nothing to publish again. */
  readonly alreadyPublished: boolean;
  readonly reused: boolean;
}

/** The unique events of a batch, in batch order, with their stable ids; bodies and route keys are passed on undecoded. */
export function selectUnique(batch: NewEventBatch, decisions: readonly PartitionDecision[]): UniqueSelection {
  const occurrenceAt = new Array<number>(batch.bodies.length).fill(0);
  for (const d of decisions)
    d.indices.forEach((index, j) => {
      occurrenceAt[index] = d.occurrences[j]!;
    });
  const occurrences: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < occurrenceAt.length; i++) {
    const n = occurrenceAt[i]!;
    if (n > 0) {
      occurrences.push(n);
      kept.push(i);
    }
  }
  const routes =
    batch.routes === undefined
      ? undefined
      : kept.length === batch.bodies.length
        ? batch.routes
        : selectRoutes(batch.routes, kept);
  const chunkResends = decisions.reduce((sum, d) => sum + d.chunkResends, 0);
  let ids: string[] | undefined;
  let bodies: Uint8Array[] | undefined;
  return {
    indices: kept,
    // A replicated event keeps its original id in every fleet (docs/replication.md).
    get ids() {
      return (ids ??= kept.map((i, j) => batch.origins?.[i] ?? eventIdOfHex(keyHexAt(batch, i), occurrences[j]!)));
    },
    get bodies() {
      return (bodies ??= kept.map((i) => batch.bodies[i]!));
    },
    occurrences,
    routes,
    duplicates: batch.bodies.length - kept.length - chunkResends,
    chunkResends,
    alreadyPublished: decisions.length > 0 && decisions.every((d) => d.published),
    reused: decisions.some((d) => d.reused),
  };
}
