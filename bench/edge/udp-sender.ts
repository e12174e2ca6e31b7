/**
 * One UDP sender process of the edge bench (bench/edge-ceiling.ts): offers syslog datagrams at a fixed rate to one
 * port, for a bounded count and time, then prints `{"sent":n,"seconds":s}` on stdout. Paced per millisecond tick, so
 * the offered load is a steady stream of small bursts, like many devices behind one relay.
 *
 * Environment: EDGE_PORT, EDGE_RATE (datagrams/s), EDGE_COUNT (at most), EDGE_SECONDS (at most), EDGE_SENDER (id).
 */
import { createSocket } from 'node:dgram';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { positiveIntSetting } from '../lib/bench-numbers.js';
import { lineRing } from './sender-lines.js';

const RING = 4096;
/** Sends per tick at most: above it the sender is the bottleneck, which the orchestrator sees as a shortfall. */
const MAX_PER_TICK = 2048;

async function main(): Promise<void> {
  const port = positiveIntSetting('EDGE_PORT', 0);
  const rate = positiveIntSetting('EDGE_RATE', 1000);
  const count = positiveIntSetting('EDGE_COUNT', rate);
  const seconds = positiveIntSetting('EDGE_SECONDS', 10);
  const lines = lineRing(positiveIntSetting('EDGE_SENDER', 1), RING, '\n');
  const socket = createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  socket.on('error', () => undefined); // ECONNREFUSED before the receiver binds: counted as sent, dropped
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  const started = process.hrtime.bigint();
  const deadlineNs = started + BigInt(seconds) * 1_000_000_000n;
  let sent = 0;
  for (;;) {
    const now = process.hrtime.bigint();
    if (sent >= count || now >= deadlineNs) break;
    const due = Math.min(count, Math.floor((Number(now - started) / 1e9) * rate)) - sent;
    const n = Math.min(due, MAX_PER_TICK);
    for (let i = 0; i < n; i++) socket.send(lines[(sent + i) % RING]!);
    sent += n;
    await yieldToLoop(); // lets the send callbacks run; also the pacing tick
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((r) => setTimeout(r, 50)); // queued sends leave the process before the socket closes
  socket.close();
  process.stdout.write(`${JSON.stringify({ sent, seconds: elapsed })}\n`);
}

await main();
