import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { KIND_FANOUT, KIND_HTTP, KIND_SOLO, KIND_UNSENT, type SendLog } from './send-log.js';
import { sleep } from './util.js';

export interface SenderTarget {
  readonly id: string;
  readonly host: string;
  /** Syslog port, TCP and UDP. */
  readonly port: number;
  /** HTTP input port. */
  readonly httpPort: number;
}

export interface SenderOptions {
  readonly targets: readonly SenderTarget[];
  readonly runId: string;
  /** New events per second (repeats come on top). */
  readonly rate: number;
  /** Share of fan-out events sent a second time, byte for byte, later (a real repeat: must land twice). */
  readonly repeatFraction: number;
  readonly repeatDelayMs: readonly [number, number];
  /** Share of events sent over TCP to one receiver only (no redundancy: a receiver that loses one shows it). */
  readonly soloFraction: number;
  /** Events per second POSTed to one receiver's HTTP input (rotating), in requests every 250 ms. */
  readonly httpRate: number;
}

/** What happened to the HTTP requests. */
export interface HttpStats {
  requests: number;
  acked: number;
  /** 503 (backpressure) and other refusals: the events were not accepted (not counted as sent). */
  refused: number;
  /** Connection errors and timeouts: the events' fate is unknown (not counted as sent; they may still land). */
  failed: number;
}

// ~200 bytes per frame, like a firewall or access log line.
const FILLER =
  'action=accept proto=tcp src=10.1.2.3:51514 dst=10.9.8.7:443 bytes=5120 rule=allow-web policy=edge-7 zone=dmz';
/** Bytes a paused receiver may have queued in our socket before we stop writing to it (the device's own buffer). */
const MAX_SOCKET_BACKLOG = 8 * 1024 * 1024;

export function chaosMarker(runId: string, seq: number): string {
  return `chaos=${runId}:${seq}`;
}

interface Connection {
  socket: Socket | null;
  up: boolean;
  reconnect: NodeJS.Timeout | null;
}

interface PendingRepeat {
  readonly seq: number;
  readonly due: number;
  readonly line: string;
  readonly udp: number;
}

/**
 * A device fanning out: each event goes to every receiver, byte for byte — over TCP (RFC 6587 octet counting) to two
 * of them and over UDP to the third (rotating), so every receiver sees every event exactly once and the dedup key
 * (sender address + bytes) is the same for all copies. A killed receiver's connection is re-opened every 200 ms.
 */
export class FanOutSender {
  private log: Mutable<SendLog>;
  private readonly conns: Connection[];
  private readonly udp: UdpSocket;
  private readonly pending: PendingRepeat[] = [];
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private generating = false;
  private stopped = false;
  private solo = 0;
  /** Syslog events generated (the HTTP stream allocates sequence numbers too). */
  private generated = 0;
  /** Copies not handed to a receiver because its connection was down or backed up, per receiver. */
  readonly skipped: number[];
  readonly udpErrors = { count: 0 };
  readonly http: HttpStats = { requests: 0, acked: 0, refused: 0, failed: 0 };
  private httpTimer: NodeJS.Timeout | null = null;
  private httpInFlight = new Set<Promise<void>>();
  private httpTarget = 0;

  constructor(
    private readonly options: SenderOptions,
    capacity: number,
  ) {
    const n = options.targets.length;
    this.log = allocate(
      options.targets.map((t) => t.id),
      Math.max(1024, capacity),
    );
    this.conns = options.targets.map(() => ({ socket: null, up: false, reconnect: null }));
    this.skipped = new Array<number>(n).fill(0);
    this.udp = createSocket('udp4');
    this.udp.on('error', () => {
      this.udpErrors.count++;
    });
  }

  get sendLog(): SendLog {
    return this.log;
  }
  get sent(): number {
    return this.log.count;
  }

  /** Opens the connections (waits until each is up) and starts streaming. */
  async start(): Promise<void> {
    this.options.targets.forEach((_, i) => this.open(i));
    const deadline = Date.now() + 10_000;
    while (this.conns.some((c) => !c.up) && Date.now() < deadline) await sleep(20);
    this.startedAt = Date.now();
    this.generating = true;
    this.timer = setInterval(() => this.tick(), 10);
    if (this.options.httpRate > 0) this.httpTimer = setInterval(() => this.postHttp(), 250);
  }

  /** Stops new events, sends the repeats still due, then closes the connections gracefully. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.generating = false;
    if (this.httpTimer) clearInterval(this.httpTimer);
    await Promise.all(this.httpInFlight);
    while (this.pending.length > 0) await sleep(50);
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await Promise.all(
      this.conns.map(async (c) => {
        if (c.reconnect) clearTimeout(c.reconnect);
        const s = c.socket;
        if (!s) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            s.destroy();
            resolve();
          }, 15_000);
          s.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          s.end();
        });
      }),
    );
    this.udp.close();
  }

  /**
   * One request of the HTTP stream, to the next receiver in turn. Its events count as sent only when the receiver
   * answers 2xx (after the broker confirm or the spool write); a refusal or an error is not retried (a retry after a
   * lost answer would be a real second occurrence).
   */
  private postHttp(): void {
    if (!this.generating || this.httpInFlight.size >= 6) return;
    const n = this.options.targets.length;
    const target = this.httpTarget++ % n;
    const t = this.options.targets[target]!;
    const count = Math.max(1, Math.round(this.options.httpRate / 4));
    const now = Date.now();
    const seqs: number[] = [];
    const records: { log: string; n: number }[] = [];
    for (let k = 0; k < count; k++) {
      if (this.log.count >= this.log.sentAt.length) this.log = grow(this.log);
      const seq = this.log.count++;
      this.log.sentAt[seq] = now;
      this.log.kind[seq] = KIND_UNSENT;
      this.log.udpTarget[seq] = -1;
      this.log.soloTarget[seq] = target;
      seqs.push(seq);
      records.push({ log: `${chaosMarker(this.options.runId, seq)} via http`, n: k });
    }
    this.http.requests++;
    const request = fetch(`http://${t.host}:${t.httpPort}/chaos.http`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
      signal: AbortSignal.timeout(30_000),
    })
      .then(
        async (res) => {
          await res.arrayBuffer().catch(() => undefined);
          if (res.ok) {
            this.http.acked++;
            for (const seq of seqs) {
              this.log.kind[seq] = KIND_HTTP;
              this.log.copies[seq] = 1 << target;
            }
          } else this.http.refused++;
        },
        () => {
          this.http.failed++;
        },
      )
      .finally(() => {
        this.httpInFlight.delete(request);
      });
    this.httpInFlight.add(request);
  }

  private open(i: number): void {
    if (this.stopped) return;
    const t = this.options.targets[i]!;
    const c = this.conns[i]!;
    c.reconnect = null;
    const s = connect({ host: t.host, port: t.port });
    c.socket = s;
    s.setNoDelay(true);
    s.once('connect', () => {
      if (c.socket === s) c.up = true;
    });
    s.on('error', () => undefined);
    s.once('close', () => {
      if (c.socket !== s) return;
      c.socket = null;
      c.up = false;
      if (!this.stopped) c.reconnect = setTimeout(() => this.open(i), 200);
    });
  }

  private writable(i: number): boolean {
    const c = this.conns[i]!;
    return c.up && c.socket !== null && !c.socket.destroyed && c.socket.writableLength < MAX_SOCKET_BACKLOG;
  }

  private tick(): void {
    const now = Date.now();
    const n = this.options.targets.length;
    const tcp: string[][] = this.options.targets.map(() => []);
    const udp: { line: string; to: number }[] = [];
    const writableNow = this.options.targets.map((_, i) => this.writable(i));

    const fanOut = (line: string, udpIdx: number): number => {
      let mask = 0;
      for (let i = 0; i < n; i++) {
        if (i === udpIdx) {
          udp.push({ line, to: i });
          mask |= 1 << i;
        } else if (writableNow[i]) {
          tcp[i]!.push(line);
          mask |= 1 << i;
        } else this.skipped[i]!++;
      }
      return mask;
    };

    // Repeats that are due: the same bytes to the same receivers over the same transports.
    for (let k = this.pending.length - 1; k >= 0; k--) {
      const p = this.pending[k]!;
      if (p.due > now) continue;
      this.pending.splice(k, 1);
      const mask = fanOut(p.line, p.udp);
      if (mask !== 0) {
        this.log.repeatAt[p.seq] = now;
        this.log.repeatCopies[p.seq] = mask;
      }
    }

    if (this.generating) {
      const due = Math.floor(((now - this.startedAt) / 1000) * this.options.rate) - this.generated;
      const iso = new Date(now).toISOString();
      for (let k = 0; k < due; k++) {
        const seq = this.log.count;
        if (seq >= this.log.sentAt.length) this.log = grow(this.log);
        this.generated++;
        const line = `<134>1 ${iso} chaos-host fanin-chaos - - - ${chaosMarker(this.options.runId, seq)} ${FILLER}`;
        this.log.count++;
        this.log.sentAt[seq] = now;
        this.log.udpTarget[seq] = -1;
        this.log.soloTarget[seq] = -1;
        if (Math.random() < this.options.soloFraction) {
          const target = this.solo++ % n;
          if (writableNow[target]) {
            tcp[target]!.push(line);
            this.log.kind[seq] = KIND_SOLO;
            this.log.soloTarget[seq] = target;
            this.log.copies[seq] = 1 << target;
            continue;
          }
        }
        const udpIdx = seq % n;
        const mask = fanOut(line, udpIdx);
        this.log.copies[seq] = mask;
        this.log.udpTarget[seq] = udpIdx;
        this.log.kind[seq] = mask === 0 ? KIND_UNSENT : KIND_FANOUT;
        if (mask !== 0 && Math.random() < this.options.repeatFraction) {
          const [lo, hi] = this.options.repeatDelayMs;
          this.pending.push({ seq, due: now + lo + Math.random() * (hi - lo), line, udp: udpIdx });
        }
      }
    }

    tcp.forEach((lines, i) => {
      if (lines.length === 0) return;
      // ASCII lines: length in characters is length in octets.
      this.conns[i]!.socket?.write(lines.map((l) => `${l.length} ${l}`).join(''), 'latin1');
    });
    for (const u of udp) {
      const t = this.options.targets[u.to]!;
      this.udp.send(u.line, t.port, t.host, (err) => {
        if (err) this.udpErrors.count++;
      });
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function allocate(receivers: readonly string[], capacity: number): Mutable<SendLog> {
  return {
    receivers,
    count: 0,
    sentAt: new Float64Array(capacity),
    kind: new Uint8Array(capacity),
    copies: new Uint8Array(capacity),
    udpTarget: new Int8Array(capacity),
    soloTarget: new Int8Array(capacity),
    repeatAt: new Float64Array(capacity),
    repeatCopies: new Uint8Array(capacity),
  };
}

function grow(log: Mutable<SendLog>): Mutable<SendLog> {
  const next = allocate(log.receivers, log.sentAt.length * 2);
  next.count = log.count;
  next.sentAt.set(log.sentAt);
  next.kind.set(log.kind);
  next.copies.set(log.copies);
  next.udpTarget.set(log.udpTarget);
  next.soloTarget.set(log.soloTarget);
  next.repeatAt.set(log.repeatAt);
  next.repeatCopies.set(log.repeatCopies);
  return next;
}
