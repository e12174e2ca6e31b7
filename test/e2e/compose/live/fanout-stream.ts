import { connect, type Socket } from 'node:net';
import { frame, syslogLine } from '../../../../cli/send.js';

/**
 * A device fanning out a paced stream of the same syslog lines to several receivers over TCP (octet counting), that
 * goes on with the others when one receiver's connection breaks, as rsyslog with one action per receiver does. `fanin
 * send` stops at the first broken connection; a receiver killed mid-stream must not stop this one.
 */
export async function streamToReceivers(options: {
  targets: readonly { host: string; port: number }[];
  count: number;
  rate: number;
  runId: string;
  message: string;
}): Promise<{ broken: number }> {
  const sockets = await Promise.all(options.targets.map((t) => open(t.host, t.port)));
  const alive = new Set<Socket>(sockets);
  let broken = 0;
  let finishing = false;
  // A receiver that dies may reset the connection (an error) or close it (an end and a close, no error): either way
  // the stream goes on without it.
  const lose = (s: Socket) => {
    if (finishing) return;
    if (alive.delete(s)) broken++;
    s.destroy();
  };
  for (const s of sockets) {
    s.on('error', () => lose(s));
    s.on('end', () => lose(s));
    s.on('close', () => lose(s));
  }
  const started = Date.now();
  for (let seq = 0; seq < options.count; seq++) {
    const bytes = frame(syslogLine(options.runId, seq, options.message), 'octet');
    for (const s of alive) s.write(bytes);
    const wait = started + ((seq + 1) / options.rate) * 1000 - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  finishing = true;
  await Promise.all(
    [...alive].map(
      (s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            s.destroy();
            resolve();
          }, 10_000);
          s.end(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  return { broken };
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
