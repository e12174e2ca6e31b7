/**
 * One TCP sender process of the edge bench (bench/edge-ceiling.ts): writes newline-framed syslog lines over
 * EDGE_CONNECTIONS connections as fast as the receiver reads them (TCP backpressure), for a bounded count and time,
 * then prints `{"sent":n,"seconds":s}` on stdout.
 *
 * Environment: EDGE_PORT, EDGE_COUNT (at most), EDGE_SECONDS (at most), EDGE_CONNECTIONS, EDGE_SENDER (id).
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { positiveIntSetting } from '../lib/bench-numbers.js';
import { lineRing } from './sender-lines.js';

const LINES_PER_WRITE = 256;

/** A connected socket; events.once rejects on an 'error' before 'connect'. */
async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

async function main(): Promise<void> {
  const port = positiveIntSetting('EDGE_PORT', 0);
  const count = positiveIntSetting('EDGE_COUNT', 1_000_000);
  const seconds = positiveIntSetting('EDGE_SECONDS', 10);
  const connections = positiveIntSetting('EDGE_CONNECTIONS', 4);
  const sender = positiveIntSetting('EDGE_SENDER', 1);
  // One write is LINES_PER_WRITE lines; a ring of 16 distinct writes.
  const lines = lineRing(sender, 16 * LINES_PER_WRITE, '\n');
  const ring = Array.from({ length: 16 }, (_, w) =>
    Buffer.concat(lines.slice(w * LINES_PER_WRITE, (w + 1) * LINES_PER_WRITE)),
  );
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(port)));
  const started = Date.now();
  const deadline = started + seconds * 1000;
  let sent = 0;
  const perConnection = Math.ceil(count / connections / LINES_PER_WRITE);
  await Promise.all(
    sockets.map(async (s) => {
      s.on('error', () => undefined);
      for (let w = 0; w < perConnection && Date.now() < deadline && !s.destroyed; w++) {
        sent += LINES_PER_WRITE;
        if (!s.write(ring[w % ring.length]!)) await new Promise((r) => s.once('drain', r));
      }
      await new Promise<void>((resolve) => s.end(resolve));
    }),
  );
  process.stdout.write(`${JSON.stringify({ sent, seconds: (Date.now() - started) / 1000 })}\n`);
}

await main();
