import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, type FaultRecord } from '../../../chaos/checker.js';
import { KIND_FANOUT, KIND_HTTP, KIND_SOLO, type SendLog } from '../../../chaos/send-log.js';
import type { SinkLine } from '../../../chaos/sink-reader.js';

const T0 = 1_000_000;
const A = 1;
const B = 2;
const C = 4;

/** A send log of `n` events, all fan-out (TCP to a and b, UDP to c) at T0 + seq seconds unless changed. */
function sendLog(n: number): SendLog & { count: number } {
  const log = {
    receivers: ['a', 'b', 'c'],
    count: n,
    sentAt: new Float64Array(n),
    kind: new Uint8Array(n),
    copies: new Uint8Array(n),
    udpTarget: new Int8Array(n),
    soloTarget: new Int8Array(n),
    repeatAt: new Float64Array(n),
    repeatCopies: new Uint8Array(n),
  };
  for (let s = 0; s < n; s++) {
    log.sentAt[s] = T0 + s * 1000;
    log.kind[s] = KIND_FANOUT;
    log.copies[s] = A | B | C;
    log.udpTarget[s] = 2;
    log.soloTarget[s] = -1;
  }
  return log;
}

const line = (seq: number, id: string, receivedAt: number, landedAt = receivedAt + 100, receiver = 'a'): SinkLine => ({
  seq,
  id,
  receivedAt,
  landedAt,
  secondary: false,
  receiver,
});

function fault(name: string, injectAt: number, healAt: number, extra: Partial<FaultRecord> = {}): FaultRecord {
  return {
    name,
    kind: name,
    target: null,
    injectAt,
    healAt,
    receiverKills: [],
    redisWipes: [],
    deadLetteredBefore: 0,
    ...extra,
  };
}

describe('chaos checker', () => {
  it('counts delivered, lost (explained or not), duplicates, repeats and recovery per fault window', () => {
    const send = sendLog(9);
    send.kind[2] = KIND_SOLO;
    send.copies[2] = A;
    send.udpTarget[2] = -1;
    send.soloTarget[2] = 0;
    send.repeatAt[3] = send.sentAt[3]! + 2000;
    send.repeatCopies[3] = A | B | C;
    send.repeatAt[4] = send.sentAt[4]! + 2000;
    send.repeatCopies[4] = A | B | C;
    send.kind[7] = KIND_HTTP;
    send.copies[7] = B;
    send.udpTarget[7] = -1;
    send.soloTarget[7] = 1;
    const at = (s: number) => send.sentAt[s]!;
    const lines = [
      line(0, 'x0-1', at(0) + 5),
      // seq 1: no line although b got a TCP copy and nobody was killed: a real loss.
      // seq 2: solo to a, which was killed right after: explained.
      line(3, 'x3-1', at(3) + 5),
      line(3, 'x3-2', at(3) + 2005),
      line(4, 'x4-1', at(4) + 5),
      line(4, 'x4-1', at(4) + 2005), // the repeat collapsed onto the original's id
      line(5, 'x5-1', at(5) + 5),
      line(5, 'other-1', at(5) + 6), // a copy published under a new id
      line(6, 'x6-1', at(6) + 5, at(6) + 3000),
      line(6, 'x6-1', at(6) + 5, at(6) + 4000), // a redelivery, landing late
      // seq 7: acknowledged over HTTP by b, never landed; b was killed, which does not excuse an acked event.
      line(8, 'x8-1', at(8) + 5),
    ];
    const faults = [
      fault('kill a', at(2) + 500, at(2) + 800, { receiverKills: [{ receiver: 'a', at: at(2) + 500 }] }),
      fault('wipe', at(4) + 1000, at(4) + 1100, { redisWipes: [at(4) + 1000], deadLetteredBefore: 1 }),
      fault('kill b', at(6) + 500, at(6) + 1000, {
        receiverKills: [{ receiver: 'b', at: at(7) + 10 }],
        deadLetteredBefore: 1,
      }),
    ];
    const r = check({ send, lines: () => lines, faults, streamStart: T0, deadLetteredAtEnd: 3, killReachMs: 5000 });
    const [baseline, killA, wipe, killB] = r.rows;
    // Events belong to the window they were sent in: baseline 0-2, kill a 3-4, wipe 5-6, kill b 7-8.
    assert.equal(baseline!.sent, 3);
    assert.equal(baseline!.lost, 2);
    assert.equal(baseline!.lostExplained, 1, 'the solo event of a killed receiver');
    assert.equal(baseline!.soloLost, 1);
    assert.equal(killA!.repeatsKept, 1);
    assert.equal(killA!.repeatsCollapsed, 1);
    assert.equal(killA!.repeatsCollapsedExplained, 1, 'a Redis wipe between the original and the repeat');
    assert.equal(killA!.deadLettered, 1);
    assert.equal(wipe!.duplicatedNewIds, 1);
    assert.equal(wipe!.duplicatedRaw, 2);
    assert.equal(wipe!.deadLettered, 0);
    assert.equal(killB!.httpAcked, 1);
    assert.equal(killB!.httpLost, 1);
    assert.equal(killB!.deadLettered, 2);
    assert.equal(killB!.recoveryS, 2, 'seq 6, sent before the heal, landed 2 s after it');
    assert.equal(wipe!.recoveryS, 0);
    assert.equal(r.total.sent, 11);
    assert.equal(r.total.delivered, 8);
    assert.equal(r.total.lost, 3);
    assert.equal(r.failures, 2, 'seq 1 (fan-out) and seq 7 (acked HTTP)');
    assert.deepEqual(
      r.lostSamples.map((l) => [l.seq, l.explained]),
      [
        [1, false],
        [2, true],
        [7, false],
      ],
    );
    assert.deepEqual(
      r.duplicateSamples.map((d) => [d.seq, d.lines.length]),
      [
        [5, 2],
        [6, 2],
      ],
    );
  });

  it('fails a collapsed repeat that no Redis wipe explains, and a lost repeat', () => {
    const send = sendLog(2);
    for (const s of [0, 1]) {
      send.repeatAt[s] = send.sentAt[s]! + 3000;
      send.repeatCopies[s] = A | B | C;
    }
    const lines = [
      line(0, 'y0-1', send.sentAt[0]! + 5),
      line(0, 'y0-1', send.repeatAt[0]! + 5),
      line(1, 'y1-1', send.sentAt[1]! + 5),
    ];
    const r = check({ send, lines: () => lines, faults: [], streamStart: T0, deadLetteredAtEnd: null });
    assert.equal(r.total.repeatsCollapsed, 1);
    assert.equal(r.total.repeatsCollapsedExplained, 0);
    assert.equal(r.total.lost, 1);
    assert.deepEqual(
      r.lostSamples.map((l) => [l.seq, l.occurrence]),
      [[1, 2]],
    );
    assert.equal(r.failures, 2);
  });
});
