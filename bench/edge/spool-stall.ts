/**
 * How long the spool holds the event loop per spooled batch, for the edge bench (bench/edge-ceiling.ts): appends
 * batch-sized records to a SpoolJournal with fsync=always at a steady rate and measures the synchronous time of each
 * append (what every input of the receiver waits) and the event loop's delay meanwhile. Loads the journal from
 * EDGE_SPOOL_MODULE, so an A/B run compares two builds' journals on the same disk, and prints one JSON line.
 *
 * Environment: EDGE_SPOOL_MODULE (path of spool-journal.js), EDGE_SPOOL_DIR (on the disk under test),
 * EDGE_BATCHES_PER_SECOND, EDGE_SECONDS, EDGE_RECORD_BYTES.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { quantile, positiveIntSetting } from '../lib/bench-numbers.js';

interface Journal {
  append(bytes: Buffer): Promise<void> | void;
  close(): Promise<void> | void;
}

async function main(): Promise<void> {
  const modulePath = process.env.EDGE_SPOOL_MODULE ?? '';
  const dir = process.env.EDGE_SPOOL_DIR ?? '';
  if (modulePath === '' || dir === '') throw new Error('EDGE_SPOOL_MODULE and EDGE_SPOOL_DIR are required');
  const rate = positiveIntSetting('EDGE_BATCHES_PER_SECOND', 50);
  const seconds = positiveIntSetting('EDGE_SECONDS', 5);
  const recordBytes = positiveIntSetting('EDGE_RECORD_BYTES', 128 * 1024);
  const { SpoolJournal } = (await import(pathToFileURL(resolve(modulePath)).href)) as {
    SpoolJournal: new (o: object) => Journal;
  };
  const journal = new SpoolJournal({ dir, segmentBytes: 8 * 1024 * 1024, maxBytes: 1 << 30, fsync: 'always' });
  const record = Buffer.alloc(recordBytes, 0x61);
  const held: number[] = [];
  const durable: Promise<void>[] = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const t = performance.now();
    const settled = journal.append(record);
    held.push(performance.now() - t);
    if (settled) durable.push(settled);
    await sleep(Math.max(0, started + ((i + 1) * 1000) / rate - performance.now()));
  }
  await Promise.all(durable);
  await journal.close();
  delay.disable();
  const ms = (n: number) => Math.round(n * 100) / 100;
  const heldTotal = held.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({
      batches: held.length,
      loopHeldMsPerBatch: { p50: ms(quantile(held, 0.5)), p99: ms(quantile(held, 0.99)), max: ms(Math.max(...held)) },
      loopHeldShare: ms(heldTotal / (performance.now() - started)),
      loopDelayMs: { p99: ms(delay.percentile(99) / 1e6), max: ms(delay.max / 1e6) },
    })}\n`,
  );
}

await main();
