import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChannelModel } from 'amqplib';
import { ConfirmPublisher } from '../../shared/amqp/confirm-publisher.js';
import { encodeProcessedBatch } from '../../shared/batch-codec.js';
import { queueLength } from './dead-queue-replay.js';
import { PublishWindow } from './publish-window.js';
import type { ReplayTally } from './replay-tally.js';
import { secondaryLineEvent } from './secondary-line.js';

export interface SecondarySink {
  readonly sink: string;
  readonly dir: string;
  readonly queue: string;
}

export interface SecondaryReplayOptions {
  readonly sinks: readonly SecondarySink[];
  readonly dryRun: boolean;
  readonly window: number;
  /** Events per processed batch published. */
  readonly batchEvents: number;
  readonly keepGoing: () => boolean;
}

/** Next to each replayed file: how far it was replayed (bytes), written only once those batches are confirmed. */
export const MARK_SUFFIX = '.replayed';
/** The file sink's file for bodies that are no event envelope: nothing a sink could take, so never replayed. */
const REJECTED_FILE = 'rejected.ndjson';

interface Mark {
  readonly bytes: number;
  readonly events: number;
  readonly at: string;
}

/**
 * Puts the events of each sink's secondary files back into the sink's queue, as processed batches of at most
 * `batchEvents` events with their ids. A file is read from where its mark says the last replay ended up to the end
 * of its last complete line; the mark moves there only once every batch from it is confirmed, so a crash replays
 * those lines again (same ids), never skips one. Files are marked, not renamed: an uploader whose sink still fails
 * may hold a file open and append to it, and a renamed file would take those lines along unseen; appended lines
 * lie beyond the mark and go with the next replay.
 */
export async function replaySecondaryFiles(
  model: ChannelModel,
  o: SecondaryReplayOptions,
  tally: ReplayTally,
): Promise<void> {
  const work: { sink: SecondarySink; file: string }[] = [];
  for (const sink of o.sinks) {
    const names = await listDir(sink.dir);
    if (names === null) continue;
    for (const name of names.filter((n) => n.endsWith('.ndjson') && n !== REJECTED_FILE).sort())
      work.push({ sink, file: join(sink.dir, name) });
    if (names.includes(REJECTED_FILE))
      tally.addLeft(`${join(sink.dir, REJECTED_FILE)}: bodies that are no event envelope (never replayed)`, 0);
  }
  tally.filesTotal = work.length;
  if (work.length === 0) return;
  const publisher = new ConfirmPublisher();
  const missing = new Set<string>();
  try {
    if (!o.dryRun) await publisher.attach(model);
    for (const { sink, file } of work) {
      if (!o.keepGoing()) return;
      if (!o.dryRun && !missing.has(sink.queue) && (await queueLength(model, sink.queue)) === null)
        missing.add(sink.queue);
      if (missing.has(sink.queue)) {
        tally.addLeft(`queue ${sink.queue} does not exist (start the uploader with sink ${sink.sink} first)`, 0);
      } else {
        await replayFile(publisher, sink, file, o, tally);
      }
      tally.filesDone++;
    }
  } finally {
    await publisher.close();
  }
}

async function replayFile(
  publisher: ConfirmPublisher,
  sink: SecondarySink,
  file: string,
  o: SecondaryReplayOptions,
  tally: ReplayTally,
): Promise<void> {
  const mark = await readMark(file);
  const size = (await stat(file)).size;
  if (mark.bytes >= size) return;
  const window = new PublishWindow(o.window);
  let ids: string[] = [];
  let bodies: Uint8Array[] = [];
  let batchStart = mark.bytes;
  let events = 0;
  const flush = async () => {
    if (ids.length === 0) return;
    const batch = { sourceBatchId: `replay:${sink.sink}:${file}:${batchStart}`, ids, bodies };
    const count = ids.length;
    ids = [];
    bodies = [];
    events += count;
    if (o.dryRun) {
      tally.addReplayed('secondary', sink.sink, 'secondary', count);
      return;
    }
    const content = encodeProcessedBatch(batch);
    await window.add(
      publisher
        .publish('', content, {
          messageId: batch.sourceBatchId,
          routingKey: sink.queue,
          headers: { 'x-fanin-replayed-from': file },
        })
        .then(() => tally.addReplayed('secondary', sink.sink, 'secondary', count)),
    );
  };
  let end = mark.bytes;
  try {
    for await (const { line, offset, next } of completeLines(file, mark.bytes, size)) {
      if (!o.keepGoing()) break;
      end = next;
      if (line.length === 0) continue;
      const event = secondaryLineEvent(line);
      if ('error' in event) {
        tally.addBadLine(`${file}@${offset}`, event.error);
        continue;
      }
      if (ids.length === 0) batchStart = offset;
      ids.push(event.id);
      bodies.push(event.body);
      if (ids.length >= o.batchEvents) await flush();
    }
    await flush();
    await window.drain();
  } finally {
    await window.settle();
  }
  if (!o.dryRun && end > mark.bytes)
    await writeMark(file, { bytes: end, events: mark.events + events, at: new Date().toISOString() });
}

/**
 * The file's complete lines in [from, to), each with the byte offsets where it starts and where the next one does.
 * A last line without its newline is not yielded: the secondary may be writing it.
 */
async function* completeLines(
  file: string,
  from: number,
  to: number,
): AsyncGenerator<{ line: string; offset: number; next: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let carryAt = from;
  for await (const chunk of createReadStream(file, { start: from, end: to - 1 })) {
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let at = carryAt;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
      yield { line: buf.toString('utf8', 0, nl), offset: at, next: at + nl + 1 };
      at += nl + 1;
      buf = buf.subarray(nl + 1);
    }
    carry = buf;
    carryAt = at;
  }
}

async function readMark(file: string): Promise<Mark> {
  let raw: string;
  try {
    raw = await readFile(file + MARK_SUFFIX, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: 0, events: 0, at: '' };
    throw err;
  }
  const mark = JSON.parse(raw) as Partial<Mark>;
  if (!Number.isSafeInteger(mark.bytes) || (mark.bytes as number) < 0)
    throw new Error(`${file + MARK_SUFFIX}: not a replay mark (no "bytes"); delete it to replay the whole file again`);
  return { bytes: mark.bytes as number, events: Number(mark.events ?? 0), at: String(mark.at ?? '') };
}

/** Written to a temporary name, synced and renamed: a crash leaves the old mark or the new one, never half of one. */
async function writeMark(file: string, mark: Mark): Promise<void> {
  const tmp = `${file}${MARK_SUFFIX}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify(mark) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file + MARK_SUFFIX);
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
