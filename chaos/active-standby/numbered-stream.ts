import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { chaosMarker } from '../sender.js';
import { sleep } from '../util.js';

export type Protocol = 'tcp' | 'udp';

// ~200 bytes per line, like a firewall log line.
const FILLER =
  'action=accept proto=tcp src=10.1.2.3:51514 dst=10.9.8.7:443 bytes=5120 rule=allow-web policy=edge-7 zone=dmz';
/** Lines a TCP outlet holds while it has no connection (rsyslog's action queue); past it the sender drops and counts. */
const MAX_QUEUED_LINES = 200_000;
const RECONNECT_DELAY_MS = 200;

export interface OutletStats {
  readonly target: string;
  /** Lines handed to the kernel (TCP: written to a connected socket; UDP: sent). */
  handed: number;
  /** Lines dropped by the sender itself (queue full, UDP send error). */
  dropped: number;
  queuedPeak: number;
  /** Connection losses and successful connects (TCP), epoch ms. */
  readonly disconnects: number[];
  readonly connects: number[];
}

interface Outlet {
  readonly stats: OutletStats;
  start(): void;
  send(lines: readonly string[]): void;
  /** Sends what is queued (bounded), then closes. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * A device sending plain TCP syslog as rsyslog's omfwd does: one long-lived connection, RFC 6587 octet counting,
 * lines queued while there is no connection and sent once a new one is up (reconnecting every 200 ms). Plain TCP
 * syslog has no acknowledgement: lines the kernel accepted on a connection that then dies are gone, and the sender
 * cannot know which.
 */
class TcpOutlet implements Outlet {
  readonly stats: OutletStats;
  private socket: Socket | null = null;
  private up = false;
  private closing = false;
  private queue: string[] = [];
  private reconnect: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.stats = {
      target: `tcp://${host}:${port}`,
      handed: 0,
      dropped: 0,
      queuedPeak: 0,
      disconnects: [],
      connects: [],
    };
  }

  start(): void {
    this.open();
  }

  send(lines: readonly string[]): void {
    if (this.up && this.queue.length === 0) {
      this.write(lines);
      return;
    }
    for (const line of lines) {
      if (this.queue.length >= MAX_QUEUED_LINES) this.stats.dropped++;
      else this.queue.push(line);
    }
    this.stats.queuedPeak = Math.max(this.stats.queuedPeak, this.queue.length);
  }

  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || !this.up) && Date.now() < deadline) await sleep(20);
    this.closing = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(
        () => {
          s.destroy();
          resolve();
        },
        Math.max(1000, deadline - Date.now()),
      );
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }

  private write(lines: readonly string[]): void {
    // ASCII lines: the length in characters is the length in octets.
    this.socket!.write(lines.map((l) => `${l.length} ${l}`).join(''), 'latin1');
    this.stats.handed += lines.length;
  }

  private open(): void {
    if (this.closing) return;
    this.reconnect = null;
    const s = connect({ host: this.host, port: this.port });
    this.socket = s;
    s.setNoDelay(true);
    s.once('connect', () => {
      if (this.socket !== s) return;
      this.up = true;
      this.stats.connects.push(Date.now());
      const queued = this.queue;
      this.queue = [];
      if (queued.length > 0) this.write(queued);
    });
    s.on('error', () => undefined);
    s.once('close', () => {
      if (this.socket !== s) return;
      if (this.up) this.stats.disconnects.push(Date.now());
      this.socket = null;
      this.up = false;
      if (!this.closing) this.reconnect = setTimeout(() => this.open(), RECONNECT_DELAY_MS);
    });
  }
}

/** UDP syslog: one datagram per line, fire and forget. */
class UdpOutlet implements Outlet {
  readonly stats: OutletStats;
  private readonly socket: UdpSocket;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.stats = {
      target: `udp://${host}:${port}`,
      handed: 0,
      dropped: 0,
      queuedPeak: 0,
      disconnects: [],
      connects: [],
    };
    this.socket = createSocket('udp4');
    this.socket.on('error', () => undefined);
  }

  start(): void {
    /* connectionless */
  }

  send(lines: readonly string[]): void {
    for (const line of lines) {
      this.socket.send(line, this.port, this.host, (err) => {
        if (err) {
          this.stats.dropped++;
          this.stats.handed--;
        }
      });
      this.stats.handed++;
    }
  }

  async close(): Promise<void> {
    await sleep(50); // the last sends' callbacks
    this.socket.close();
  }
}

export interface StreamTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * Numbered lines (`chaos=<runId>:<seq>`) at a fixed rate over one protocol, each line to every target (one target:
 * the VIP; two: fan-out to both receivers). Bounded: at most `maxLines` lines, however long it runs.
 */
export class NumberedStream {
  readonly outlets: Outlet[];
  readonly sentAt: Float64Array;
  count = 0;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;

  constructor(
    readonly protocol: Protocol,
    readonly runId: string,
    private readonly rate: number,
    targets: readonly StreamTarget[],
    maxLines: number,
  ) {
    this.outlets = targets.map((t) =>
      protocol === 'tcp' ? new TcpOutlet(t.host, t.port) : new UdpOutlet(t.host, t.port),
    );
    this.sentAt = new Float64Array(maxLines);
  }

  /** Opens the outlets (a TCP outlet queues until its first connection is up) and starts the clock. */
  start(): void {
    for (const o of this.outlets) o.start();
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** Stops new lines, lets the outlets send what they queued, closes them. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.outlets.map((o) => o.close(timeoutMs)));
  }

  private tick(): void {
    const now = Date.now();
    const due = Math.min(Math.floor(((now - this.startedAt) / 1000) * this.rate), this.sentAt.length) - this.count;
    if (due <= 0) return;
    const iso = new Date(now).toISOString();
    const lines: string[] = [];
    for (let k = 0; k < due; k++) {
      const seq = this.count++;
      this.sentAt[seq] = now;
      lines.push(
        `<134>1 ${iso} vip-sender fanin-vip - - - ${chaosMarker(this.runId, seq)} via=${this.protocol} ${FILLER}`,
      );
    }
    for (const o of this.outlets) o.send(lines);
  }
}
