/**
 * Failure detection for one server, pure. A server leaves the rotation after `downAfter` consecutive failed
 * heartbeats, or at once when a send to it fails (connect refused, handshake refused, ack missing: what
 * out_forward calls `disable!`); it comes back after `upAfter` consecutive successful heartbeats (out_forward's
 * `recover_wait`). Without heartbeats (`tracking` false) nothing could ever bring a server back, so, like
 * out_forward's NoneHeartbeatNode, it is always considered up and only the failover of each send applies.
 */
export class NodeHealth {
  private isUp = true;
  private failures = 0;
  private successes = 0;

  constructor(
    private readonly downAfter: number,
    private readonly upAfter: number,
    private readonly tracking = true,
  ) {}

  get up(): boolean {
    return this.isUp;
  }

  /** Each returns true when the server changed state (the rotation must be rebuilt). */
  heartbeatSucceeded(): boolean {
    this.failures = 0;
    if (this.isUp) return false;
    this.successes++;
    if (this.successes < this.upAfter) return false;
    this.isUp = true;
    this.successes = 0;
    return true;
  }

  heartbeatFailed(): boolean {
    this.successes = 0;
    if (!this.tracking || !this.isUp) return false;
    this.failures++;
    return this.failures >= this.downAfter ? this.markDown() : false;
  }

  sendFailed(): boolean {
    this.successes = 0;
    return this.tracking && this.isUp ? this.markDown() : false;
  }

  private markDown(): boolean {
    this.isUp = false;
    this.failures = 0;
    return true;
  }
}

export interface Weighted {
  readonly weight: number;
  readonly standby: boolean;
  readonly up: boolean;
}

/**
 * out_forward's weight array: the regular servers that are up, plus standby servers (in order) until the weight
 * lost to regular servers that are down is covered; each repeated weight/gcd times, the whole repeated so that
 * round-robin spreads over at least 6 slots per server, then shuffled with a fixed seed so rebuilding after a
 * state change keeps a stable order.
 */
export function buildRotation<T extends Weighted>(nodes: readonly T[], seed: number): T[] {
  const regular = nodes.filter((n) => !n.standby && n.up);
  let lost = nodes.filter((n) => !n.standby && !n.up).reduce((sum, n) => sum + n.weight, 0);
  for (const n of nodes) {
    if (lost <= 0) break;
    if (n.standby && n.up) {
      regular.push(n);
      lost -= n.weight;
    }
  }
  if (regular.length === 0) return [];
  const divisor = regular.reduce((g, n) => gcd(g, n.weight), 0);
  let rotation: T[] = [];
  for (const n of regular) for (let i = 0; i < n.weight / divisor; i++) rotation.push(n);
  const times = Math.floor((regular.length * 6) / rotation.length);
  if (times > 1) rotation = Array.from({ length: times }, () => rotation).flat();
  const random = mulberry32(seed);
  const keyed = rotation.map((n) => ({ n, k: random() }));
  keyed.sort((a, b) => a.k - b.k);
  return keyed.map((x) => x.n);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A small seeded PRNG: the shuffle must be repeatable for one sink, not secure. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
