import type { SinkReader } from '../sink-reader.js';
import type { NumberedStream, Protocol } from './numbered-stream.js';

/** What became of one protocol's numbered lines in one round. */
export interface ProtocolAccount {
  readonly protocol: Protocol;
  /** Lines generated (each sent to every target of the round). */
  readonly sent: number;
  /** Lines with at least one copy in the sink. */
  readonly delivered: number;
  readonly lost: number;
  /** Sink lines beyond the first for a line number. */
  readonly duplicates: number;
  /** When the lost lines were generated, relative to the kill (ms): first and last. */
  readonly lostFromMs: number | null;
  readonly lostToMs: number | null;
  /** Sink lines by the receiver whose copy was kept. */
  readonly byReceiver: Record<string, number>;
  /** From the kill to the first line the other receiver took in (its received_at), ms. */
  readonly otherFirstAcceptMs: number | null;
  /** Lines the sender itself could not hand over (queue full, send errors). */
  readonly senderDropped: number;
  /** TCP: from the kill to the first new connection to each target, ms (null: none). */
  readonly reconnectMs: (number | null)[];
}

/** Counts lost and duplicated line numbers of `stream` in what `reader` found in the sink. */
export function account(
  stream: NumberedStream,
  reader: SinkReader,
  killAt: number,
  otherReceiver: string,
): ProtocolAccount {
  const copies = new Uint16Array(stream.count);
  const byReceiver: Record<string, number> = {};
  let lines = 0;
  let otherFirst: number | null = null;
  for (const l of reader.lines()) {
    if (l.seq >= stream.count) continue; // cannot happen unless the marker was mangled
    lines++;
    copies[l.seq] = Math.min(copies[l.seq]! + 1, 65535);
    byReceiver[l.receiver] = (byReceiver[l.receiver] ?? 0) + 1;
    if (l.receiver === otherReceiver && l.receivedAt >= killAt && (otherFirst === null || l.receivedAt < otherFirst))
      otherFirst = l.receivedAt;
  }
  let delivered = 0;
  let lostFrom: number | null = null;
  let lostTo: number | null = null;
  for (let seq = 0; seq < stream.count; seq++) {
    if (copies[seq]! > 0) {
      delivered++;
      continue;
    }
    const at = stream.sentAt[seq]! - killAt;
    if (lostFrom === null || at < lostFrom) lostFrom = at;
    if (lostTo === null || at > lostTo) lostTo = at;
  }
  return {
    protocol: stream.protocol,
    sent: stream.count,
    delivered,
    lost: stream.count - delivered,
    duplicates: lines - delivered,
    lostFromMs: lostFrom,
    lostToMs: lostTo,
    byReceiver,
    otherFirstAcceptMs: otherFirst === null ? null : otherFirst - killAt,
    senderDropped: stream.outlets.reduce((n, o) => n + o.stats.dropped, 0),
    reconnectMs: stream.outlets.map((o) => {
      const at = o.stats.connects.find((c) => c >= killAt);
      return stream.protocol === 'tcp' && at !== undefined ? at - killAt : null;
    }),
  };
}

/** Polls the readers until every line of the streams landed or nothing new arrived for `quietMs` (bounded). */
export async function waitLanded(
  pairs: readonly { stream: NumberedStream; reader: SinkReader }[],
  quietMs: number,
  maxMs: number,
): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let lastCount = -1;
  let lastChange = Date.now();
  while (Date.now() < deadline) {
    await Promise.all(pairs.map((p) => p.reader.poll()));
    const count = pairs.reduce((n, p) => n + p.reader.count, 0);
    if (pairs.every((p) => p.reader.count >= p.stream.count) && count === lastCount) return true;
    if (count !== lastCount) {
      lastCount = count;
      lastChange = Date.now();
    } else if (Date.now() - lastChange >= quietMs) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
