import { KIND_FANOUT, KIND_HTTP, KIND_SOLO, type SendLog } from './send-log.js';
import type { SinkLine } from './sink-reader.js';

/** One injected fault, as the suite recorded it. Times are epoch milliseconds. */
export interface FaultRecord {
  readonly name: string;
  readonly kind: string;
  readonly target: string | null;
  readonly injectAt: number;
  readonly healAt: number;
  /** SIGKILLs of receivers: a killed receiver loses its unconfirmed batches (docs/design.md §3; the other copies carry them). */
  readonly receiverKills: readonly { readonly receiver: string; readonly at: number }[];
  /** When Redis lost its memory (restarted empty). */
  readonly redisWipes: readonly number[];
  /** Depth of the dead-letter queue when the fault was injected (null: not sampled). */
  readonly deadLetteredBefore: number | null;
  /** The suite could not inject or heal the fault (its own failure, not the pipeline's). */
  readonly error?: string;
  /** What the fault measured on the way (a failover's duration, the node it hit). */
  readonly detail?: string;
  /** Members that were not ready 60 s after the heal (the pipeline did not recover by itself; the suite restarted them). */
  readonly stuck?: readonly string[];
}

export interface CheckInput {
  readonly send: SendLog;
  /** Iterated twice (a second pass for the duplicates' details). */
  readonly lines: () => Iterable<SinkLine>;
  readonly faults: readonly FaultRecord[];
  readonly streamStart: number;
  readonly deadLetteredAtEnd: number | null;
  /** A copy handed to a receiver counts as lost with it if the receiver was killed this long after (buffers, confirms). */
  readonly killReachMs?: number;
}

export interface Counts {
  /** Distinct events sent (at least one copy handed to a receiver). */
  events: number;
  /** Occurrences sent: events plus deliberate repeats. */
  sent: number;
  /** Occurrences with at least one line in the sink or the secondary. */
  delivered: number;
  /** Occurrences with no line at all. */
  lost: number;
  /** Of `lost`: every copy went to a receiver killed right after, or was a UDP datagram (no delivery guarantee). */
  lostExplained: number;
  /** Lines beyond one per delivered occurrence (redeliveries, copies straddling a Redis wipe). */
  duplicatedRaw: number;
  /** Distinct ids beyond one per occurrence: a copy published as a new event (a dedup miss no id-keyed sink absorbs). */
  duplicatedNewIds: number;
  repeatsSent: number;
  /** Repeats that landed with an id of their own (occurrence 2). */
  repeatsKept: number;
  /** Repeats that landed only under the original's id: an idempotent sink would drop them. */
  repeatsCollapsed: number;
  /** Of `repeatsCollapsed`: a Redis wipe fell between the original and the repeat. */
  repeatsCollapsedExplained: number;
  soloSent: number;
  soloLost: number;
  /** Events a receiver's HTTP input acknowledged (2xx): lost only through a bug, whatever was killed. */
  httpAcked: number;
  httpLost: number;
  /** Lines written to the secondary sink. */
  secondaryLines: number;
  /** Messages that entered the dead-letter queue during the window. */
  deadLettered: number | null;
}

export interface Row extends Counts {
  readonly label: string;
  readonly kind: string;
  readonly injectS: number | null;
  readonly healS: number | null;
  /** Fault healed → every occurrence sent before the heal that ever landed had landed. */
  recoveryS: number | null;
  readonly error?: string;
  readonly stuck?: readonly string[];
}

export interface LostSample {
  readonly seq: number;
  readonly occurrence: 1 | 2;
  readonly kind: 'fanout' | 'solo' | 'http';
  readonly sentS: number;
  readonly copies: string[];
  readonly explained: boolean;
  readonly window: string;
}

export interface CheckResult {
  readonly rows: Row[];
  readonly total: Row;
  readonly lostSamples: LostSample[];
  readonly collapsedSamples: { seq: number; sentS: number; repeatS: number; explained: boolean; window: string }[];
  readonly newIdSamples: { seq: number; ids: string[]; window: string }[];
  /** Events with more lines than occurrences, and each of their lines. */
  readonly duplicateSamples: {
    seq: number;
    window: string;
    lines: { id: string; receiver: string; receivedS: number; landedS: number; secondary: boolean }[];
  }[];
  /** Occurrences lost with no explanation (fan-out, solo, repeats) plus unexplained collapsed repeats: the exit status. */
  readonly failures: number;
}

function emptyCounts(): Counts {
  return {
    events: 0,
    sent: 0,
    delivered: 0,
    lost: 0,
    lostExplained: 0,
    duplicatedRaw: 0,
    duplicatedNewIds: 0,
    repeatsSent: 0,
    repeatsKept: 0,
    repeatsCollapsed: 0,
    repeatsCollapsedExplained: 0,
    soloSent: 0,
    soloLost: 0,
    httpAcked: 0,
    httpLost: 0,
    secondaryLines: 0,
    deadLettered: null,
  };
}

/**
 * Pure: from what was sent, what landed and when the faults were, count per fault window (events attributed by
 * the time they were first sent) and in total. Repeats are told apart from the original by their ids, and when
 * they share one (a collapsed repeat), by the receiver's receipt time.
 */
export function check(input: CheckInput): CheckResult {
  const { send, faults, streamStart } = input;
  const killReach = input.killReachMs ?? 30_000;
  const n = send.count;
  const lineCount = new Uint16Array(n);
  const earlyLines = new Uint16Array(n);
  const lateLines = new Uint16Array(n);
  const land1 = new Float64Array(n);
  const land2 = new Float64Array(n);
  const firstId: (string | undefined)[] = new Array<string | undefined>(n);
  const moreIds = new Map<number, Set<string>>();

  const rows: Row[] = [
    { label: 'baseline', kind: 'none', injectS: null, healS: null, recoveryS: null, ...emptyCounts() },
    ...faults.map((f) => ({
      label: f.name,
      kind: f.kind,
      injectS: rel(f.injectAt, streamStart),
      healS: rel(f.healAt, streamStart),
      recoveryS: 0,
      ...(f.error ? { error: f.error } : {}),
      ...(f.stuck?.length ? { stuck: f.stuck } : {}),
      ...emptyCounts(),
    })),
  ];
  const starts = faults.map((f) => f.injectAt);
  const windowOf = (t: number) => upperBound(starts, t); // 0: baseline, i: fault i-1

  for (const line of input.lines()) {
    const s = line.seq;
    if (s >= n) continue; // never sent: impossible unless the marker is forged
    lineCount[s]!++;
    if (line.secondary) rows[windowOf(send.sentAt[s]!)]!.secondaryLines++;
    const first = firstId[s];
    if (first === undefined) firstId[s] = line.id;
    else if (first !== line.id) {
      let set = moreIds.get(s);
      if (!set) {
        set = new Set();
        moreIds.set(s, set);
      }
      set.add(line.id);
    }
    const late = send.repeatAt[s]! > 0 && line.receivedAt >= send.repeatAt[s]! - 2;
    if (late) {
      lateLines[s]!++;
      if (land2[s] === 0 || line.landedAt < land2[s]!) land2[s] = line.landedAt;
    } else {
      earlyLines[s]!++;
      if (land1[s] === 0 || line.landedAt < land1[s]!) land1[s] = line.landedAt;
    }
  }

  const kills = faults.flatMap((f) => f.receiverKills);
  const wipes = faults.flatMap((f) => f.redisWipes);
  const receiverIndex = new Map(send.receivers.map((r, i) => [r, i]));
  const killedSoon = (receiver: number, t: number) =>
    kills.some((k) => receiverIndex.get(k.receiver) === receiver && k.at >= t - 2000 && k.at <= t + killReach);
  /** Every copy was UDP or went to a receiver killed soon after. */
  const explained = (mask: number, udp: number, t: number) => {
    for (let i = 0; i < send.receivers.length; i++)
      if ((mask & (1 << i)) !== 0 && i !== udp && !killedSoon(i, t)) return false;
    return true;
  };
  const copiesOf = (mask: number, udp: number, http: boolean) =>
    send.receivers.flatMap((r, i) =>
      (mask & (1 << i)) === 0 ? [] : [http ? `${r}/http` : i === udp ? `${r}/udp` : `${r}/tcp`],
    );

  const lostSamples: LostSample[] = [];
  const collapsedSamples: CheckResult['collapsedSamples'] = [];
  const newIdSamples: CheckResult['newIdSamples'] = [];
  let failures = 0;
  /** Per occurrence still to place in the recovery computation: [sentAt, firstLandedAt]. */
  const landings: [number, number][] = [];

  for (let s = 0; s < n; s++) {
    const kind = send.kind[s]!;
    if (kind !== KIND_FANOUT && kind !== KIND_SOLO && kind !== KIND_HTTP) continue;
    const w = windowOf(send.sentAt[s]!);
    const row = rows[w]!;
    const repeated = send.repeatAt[s]! > 0;
    const expected = repeated ? 2 : 1;
    const distinct = firstId[s] === undefined ? 0 : 1 + (moreIds.get(s)?.size ?? 0);
    row.events++;
    row.sent += expected;
    if (kind === KIND_SOLO) row.soloSent++;
    if (kind === KIND_HTTP) row.httpAcked++;
    if (repeated) row.repeatsSent++;

    let landed1 = lineCount[s]! > 0 && (earlyLines[s]! > 0 || distinct >= 2);
    let landed2 = repeated && (lateLines[s]! > 0 || distinct >= 2);
    if (repeated && distinct === 1 && earlyLines[s] === 0 && lateLines[s]! > 0) {
      landed1 = false;
      landed2 = true;
    }
    if (repeated && distinct >= 2) row.repeatsKept++;
    if (repeated && distinct === 1 && landed1 && landed2) {
      row.repeatsCollapsed++;
      const ok = wipes.some((t) => t >= send.sentAt[s]! - 5000 && t <= send.repeatAt[s]! + 60_000);
      if (ok) row.repeatsCollapsedExplained++;
      else failures++;
      if (collapsedSamples.length < 20)
        collapsedSamples.push({
          seq: s,
          sentS: rel(send.sentAt[s]!, streamStart),
          repeatS: rel(send.repeatAt[s]!, streamStart),
          explained: ok,
          window: row.label,
        });
    }
    const delivered = (landed1 ? 1 : 0) + (landed2 ? 1 : 0);
    row.delivered += delivered;
    row.duplicatedRaw += Math.max(0, lineCount[s]! - delivered);
    const extra = Math.max(0, distinct - expected);
    row.duplicatedNewIds += extra;
    if (extra > 0 && newIdSamples.length < 20)
      newIdSamples.push({ seq: s, ids: [firstId[s]!, ...(moreIds.get(s) ?? [])], window: row.label });

    const lose = (occurrence: 1 | 2, mask: number, t: number) => {
      const udp = send.udpTarget[s]!;
      // An acknowledged HTTP event was confirmed by the broker or fsynced to the spool: no kill explains its loss.
      const ok = kind !== KIND_HTTP && explained(mask, udp, t);
      row.lost++;
      if (ok) row.lostExplained++;
      else failures++;
      if (kind === KIND_SOLO) row.soloLost++;
      if (kind === KIND_HTTP) row.httpLost++;
      if (lostSamples.length < 30) {
        lostSamples.push({
          seq: s,
          occurrence,
          kind: kind === KIND_SOLO ? 'solo' : kind === KIND_HTTP ? 'http' : 'fanout',
          sentS: rel(t, streamStart),
          copies: copiesOf(mask, udp, kind === KIND_HTTP),
          explained: ok,
          window: row.label,
        });
      }
    };
    if (!landed1) lose(1, send.copies[s]!, send.sentAt[s]!);
    else landings.push([send.sentAt[s]!, land1[s]! || land2[s]!]);
    if (repeated) {
      if (!landed2) lose(2, send.repeatCopies[s]!, send.repeatAt[s]!);
      else landings.push([send.repeatAt[s]!, land2[s]! || land1[s]!]);
    }
  }

  const dupSeqs = new Map<number, CheckResult['duplicateSamples'][number]>();
  for (let s = 0; s < n && dupSeqs.size < 30; s++) {
    const expected = send.repeatAt[s]! > 0 ? 2 : 1;
    if (lineCount[s]! > expected) dupSeqs.set(s, { seq: s, window: rows[windowOf(send.sentAt[s]!)]!.label, lines: [] });
  }
  if (dupSeqs.size > 0) {
    for (const line of input.lines()) {
      dupSeqs.get(line.seq)?.lines.push({
        id: line.id,
        receiver: line.receiver,
        receivedS: rel(line.receivedAt, streamStart),
        landedS: rel(line.landedAt, streamStart),
        secondary: line.secondary,
      });
    }
  }

  // Recovery: for each fault, the last landing of anything sent before its heal, minus the heal.
  faults.forEach((f, i) => {
    let worst = 0;
    for (const [sentAt, landedAt] of landings)
      if (sentAt < f.healAt && landedAt > f.healAt) worst = Math.max(worst, landedAt - f.healAt);
    rows[i + 1]!.recoveryS = Math.round(worst / 100) / 10;
  });

  // Dead letters per window: differences of the queue depth sampled at each injection.
  const samples = [...faults.map((f) => f.deadLetteredBefore), input.deadLetteredAtEnd];
  rows[0]!.deadLettered = samples[0] ?? null;
  faults.forEach((_, i) => {
    const a = samples[i];
    const b = samples[i + 1];
    rows[i + 1]!.deadLettered = a === null || a === undefined || b === null || b === undefined ? null : b - a;
  });

  const total: Row = { label: 'TOTAL', kind: 'total', injectS: null, healS: null, recoveryS: null, ...emptyCounts() };
  for (const r of rows) {
    for (const k of Object.keys(emptyCounts()) as (keyof Counts)[]) {
      if (k !== 'deadLettered') total[k] += r[k];
    }
    if (r.recoveryS !== null) total.recoveryS = Math.max(total.recoveryS ?? 0, r.recoveryS);
  }
  total.deadLettered = input.deadLetteredAtEnd;
  return {
    rows,
    total,
    lostSamples,
    collapsedSamples,
    newIdSamples,
    duplicateSamples: [...dupSeqs.values()],
    failures,
  };
}

function rel(t: number, start: number): number {
  return Math.round((t - start) / 100) / 10;
}

/** Number of elements of the sorted array `a` that are <= x. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
