import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

export type SendFraming = 'udp' | 'tcp' | 'octet';

export interface SendOptions {
  readonly targets: readonly { host: string; port: number }[];
  readonly framing: SendFraming;
  readonly count: number;
  /** Lines per second; 0 sends as fast as the sockets accept. */
  readonly rate: number;
  readonly message: string;
  readonly runId: string;
}

/** A device fanning out: the same line, byte for byte, to every target. */
export function syslogLine(runId: string, seq: number, message: string): string {
  const ts = new Date().toISOString();
  return `<134>1 ${ts} fanin-sender fanin-send ${process.pid} seq - run=${runId} seq=${seq} ${message}`;
}

export function frame(line: string, framing: SendFraming): Buffer {
  const body = Buffer.from(line, 'utf8');
  if (framing === 'octet') return Buffer.concat([Buffer.from(`${body.length} `), body]);
  if (framing === 'tcp') return Buffer.concat([body, Buffer.from('\n')]);
  return body;
}

/** Sends `count` lines to every target; resolves when all are written (TCP: flushed and closed). */
export async function fanOutSend(options: SendOptions): Promise<void> {
  if (options.framing === 'udp') return sendUdp(options);
  const sockets = await Promise.all(options.targets.map((t) => openTcp(t.host, t.port)));
  const started = Date.now();
  for (let seq = 0; seq < options.count; seq++) {
    const bytes = frame(syslogLine(options.runId, seq, options.message), options.framing);
    const drains: Promise<void>[] = [];
    for (const s of sockets) if (!s.write(bytes)) drains.push(new Promise((r) => s.once('drain', r)));
    if (drains.length > 0) await Promise.all(drains);
    if (options.rate > 0) await pace(started, seq + 1, options.rate);
  }
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((r) => {
          s.end(() => r());
        }),
    ),
  );
}

async function sendUdp(options: SendOptions): Promise<void> {
  const socket = createSocket('udp4');
  const started = Date.now();
  for (let seq = 0; seq < options.count; seq++) {
    const bytes = frame(syslogLine(options.runId, seq, options.message), 'udp');
    await Promise.all(
      options.targets.map(
        (t) =>
          new Promise<void>((resolve, reject) =>
            socket.send(bytes, t.port, t.host, (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
    await pace(started, seq + 1, options.rate > 0 ? options.rate : 20_000); // UDP unpaced just overflows buffers
  }
  socket.close();
}

function openTcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function pace(startedMs: number, sent: number, rate: number): Promise<void> {
  const due = startedMs + (sent / rate) * 1000;
  const wait = due - Date.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}
