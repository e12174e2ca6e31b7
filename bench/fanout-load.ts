import { connect, type Socket } from 'node:net';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { benchMarker } from './lib/sink-tail.js';

/**
 * The bench's device: several TCP streams, each with one connection per receiver, writing the same octet-counted
 * syslog lines (RFC 6587) to every receiver — fan-out, byte for byte. Lines carry a marker (run, phase, stream, seq)
 * so the sink can be checked for lost and duplicated events.
 */
export interface LoadTarget {
  readonly host: string;
  readonly port: number;
}

export interface LoadOptions {
  readonly targets: readonly LoadTarget[];
  readonly streams: number;
  readonly runId: string;
  readonly phase: string;
  readonly durationMs: number;
  /** Lines per second over all streams; 0: as fast as the receivers accept (TCP backpressure). */
  readonly rate: number;
  /**
   * Closed loop: stop writing while more than `limit` lines of this phase are sent but not yet landed in the sink,
   * so an open-loop flood into the broker's queue cannot pass for throughput (the rate converges on what the whole
   * pipeline sustains end to end).
   */
  readonly backlog?: { readonly limit: number; readonly landed: () => number };
  readonly linesPerWrite?: number;
}

export interface LoadResult {
  readonly phase: string;
  readonly sentPerStream: number[];
  /** Unique lines sent (each went to every target). */
  readonly lines: number;
  readonly copies: number;
  readonly firstSendMs: number;
  readonly lastSendMs: number;
  /** Time the streams spent waiting on the backlog bound, summed over streams. */
  readonly backlogWaitMs: number;
  /** Time the streams spent waiting for a receiver's socket to drain (TCP backpressure), summed over streams. */
  readonly drainWaitMs: number;
  /** Socket errors (a receiver closed or reset a connection); a stream stops at its first one. */
  readonly errors: string[];
}

// ~220 bytes per frame, like an access log line.
const FILLER = 'GET /api/v1/items?page=3&sort=desc status=200 bytes=5120 ua="fanin-bench/1.0 (linux)" rt=0.0123';

export function benchLine(runId: string, phase: string, stream: number, seq: number, isoTime: string): string {
  return `<134>1 ${isoTime} bench-host fanin-bench ${process.pid} - - ${benchMarker(runId, phase, stream, seq)} ${FILLER}`;
}

function openSocket(t: LoadTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port }, () => {
      s.off('error', reject);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function closeSocket(s: Socket, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      s.destroy();
      resolve();
    }, graceMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.on('error', () => undefined);
    s.end();
  });
}

function waitDrain(s: Socket, untilMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
    function done() {
      clearTimeout(timer);
      s.off('drain', done);
      s.off('close', done);
      resolve();
    }
    s.once('drain', done);
    s.once('close', done);
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const perWrite = o.linesPerWrite ?? 50;
  const streams = await Promise.all(Array.from({ length: o.streams }, () => Promise.all(o.targets.map(openSocket))));
  const errors: string[] = [];
  for (const sockets of streams) for (const s of sockets) s.on('error', (err) => errors.push(err.message));
  const sentPerStream = new Array<number>(o.streams).fill(0);
  let total = 0;
  let firstSendMs = 0;
  let lastSendMs = 0;
  let backlogWaitMs = 0;
  let drainWaitMs = 0;
  const started = Date.now();
  const deadline = started + o.durationMs;
  const streamRate = o.rate / o.streams;

  const runStream = async (stream: number, sockets: Socket[]) => {
    let seq = 0;
    while (Date.now() < deadline && !sockets.some((s) => s.destroyed)) {
      let n = perWrite;
      if (o.rate > 0) {
        const due = Math.floor(((Date.now() - started) / 1000) * streamRate) - seq;
        if (due <= 0) {
          await sleep(2);
          continue;
        }
        n = Math.min(n, due);
      }
      if (o.backlog && total - o.backlog.landed() > o.backlog.limit) {
        const t = Date.now();
        while (total - o.backlog.landed() > o.backlog.limit && Date.now() < deadline) await sleep(5);
        backlogWaitMs += Date.now() - t;
        continue;
      }
      const iso = new Date().toISOString();
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const line = benchLine(o.runId, o.phase, stream, seq + i, iso);
        parts.push(`${line.length} ${line}`); // ASCII: length in characters is length in octets
      }
      const chunk = Buffer.from(parts.join(''), 'latin1');
      const now = Date.now();
      if (firstSendMs === 0) firstSendMs = now;
      const full = sockets.filter((s) => !s.write(chunk));
      seq += n;
      total += n;
      sentPerStream[stream] = seq;
      lastSendMs = now;
      if (full.length > 0) {
        const t = Date.now();
        // Bounded: past the deadline the stream stops writing and closes (what is buffered is still delivered).
        await Promise.all(full.map((s) => waitDrain(s, deadline + 5000)));
        drainWaitMs += Date.now() - t;
      } else {
        await yieldToLoop(); // let timers (the sink tail, the samplers) run between writes
      }
    }
    await Promise.all(sockets.map((s) => closeSocket(s, 15_000)));
  };

  await Promise.all(streams.map((sockets, i) => runStream(i, sockets)));
  return {
    phase: o.phase,
    sentPerStream,
    lines: total,
    copies: total * o.targets.length,
    firstSendMs,
    lastSendMs,
    backlogWaitMs,
    drainWaitMs,
    errors,
  };
}
