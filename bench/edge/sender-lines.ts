// The syslog lines the edge bench's senders write: RFC 5424, about the size of an access-log line, each distinct (a
// sequence number), so every copy is hashed and packed like real traffic.

const FILLER = 'GET /api/v1/items?page=3&sort=desc status=200 bytes=5120 ua="fanin-edge/1.0 (linux)" rt=0.0123';

/** One line without a terminator; `sender` and `seq` make it distinct. */
export function edgeLine(sender: number, seq: number): string {
  return `<134>1 2026-12-07T12:00:00.000Z edge-host fanin-edge ${sender} - - edge seq=${seq} ${FILLER}`;
}

/** A ring of `count` distinct lines as Buffers, built once so a sender spends its time sending, not formatting. */
export function lineRing(sender: number, count: number, terminator: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(edgeLine(sender, i) + terminator, 'latin1'));
}
