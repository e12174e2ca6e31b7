import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Channel, ChannelModel } from 'amqplib';
import { ConfirmPublisher } from '../../shared/amqp/confirm-publisher.js';
import { declareTopology, fleetTopology, topologyNames } from '../../shared/amqp/topology.js';
import { decodeBody, decodeProcessedBatch, encodeBody, encodeNewEventBatch } from '../../shared/batch-codec.js';

const keyOf = (line: string) => createHash('sha256').update(line).digest().subarray(0, 16);

/**
 * Numbered lines fanned out the way two receivers do it: every batch published twice to `<ns>.new`, once as
 * receiver a and once as receiver b, with the same content keys. Stands in for the receivers so a test can drive the
 * real worker at a known pace and know exactly which lines must come out.
 */
export class FanoutStream {
  private readonly publisher = new ConfirmPublisher();
  private seq = 0;
  private constructor(private readonly namespace: string) {}

  static async open(conn: ChannelModel, namespace: string): Promise<FanoutStream> {
    const ch = await conn.createChannel();
    await declareTopology(ch, fleetTopology(namespace, ['file']));
    await ch.close();
    const s = new FanoutStream(namespace);
    await s.publisher.attach(conn);
    return s;
  }

  /** Lines first..first+count-1 in batches of `batchSize`, both copies of each batch confirmed before the next. */
  async publish(first: number, count: number, batchSize: number, marker: string): Promise<void> {
    const names = topologyNames(this.namespace);
    for (let start = first; start < first + count; start += batchSize) {
      const lines = Array.from(
        { length: Math.min(batchSize, first + count - start) },
        (_, i) => `${marker} line ${start + i}`,
      );
      const seq = ++this.seq;
      await Promise.all(
        ['a', 'b'].map((receiverId) =>
          this.publisher.publish(
            names.newExchange,
            encodeNewEventBatch({
              receiverId,
              bootId: marker,
              seq,
              keys: Buffer.concat(lines.map(keyOf)),
              bodies: lines.map((message) =>
                encodeBody({
                  tag: 't',
                  time: null,
                  received_at: Date.now(),
                  receiver: receiverId,
                  source: null,
                  transport: 'udp',
                  format: 'raw',
                  message,
                }),
              ),
            }),
            { messageId: `${receiverId}:${marker}:${seq}` },
          ),
        ),
      );
    }
  }

  async close(): Promise<void> {
    await this.publisher.close();
  }
}

export interface Landed {
  readonly id: string;
  readonly message: string;
  readonly at: number;
}

/** Everything the worker publishes to the file sink's queue, with arrival times. */
export class SinkCollector {
  readonly landed: Landed[] = [];
  private constructor(private readonly ch: Channel) {}

  static async start(conn: ChannelModel, namespace: string): Promise<SinkCollector> {
    const ch = await conn.createChannel();
    const c = new SinkCollector(ch);
    await ch.consume(topologyNames(namespace).sinkQueue('file'), (msg) => {
      if (!msg) return;
      const at = Date.now();
      const batch = decodeProcessedBatch(msg.content);
      batch.ids.forEach((id, i) =>
        c.landed.push({ id, message: (decodeBody(batch.bodies[i]!) as { message: string }).message, at }),
      );
      ch.ack(msg);
    });
    return c;
  }

  /** Per expected line: how often it landed, and duplicates split by whether the copy carried the same id. */
  tally(marker: string, count: number): { lost: number[]; sameIdDuplicates: number; newIdDuplicates: number } {
    const byLine = new Map<string, Landed[]>();
    for (const l of this.landed)
      if (l.message.startsWith(`${marker} line `)) byLine.set(l.message, [...(byLine.get(l.message) ?? []), l]);
    const lost: number[] = [];
    let sameIdDuplicates = 0;
    let newIdDuplicates = 0;
    for (let i = 0; i < count; i++) {
      const copies = byLine.get(`${marker} line ${i}`) ?? [];
      if (copies.length === 0) {
        lost.push(i);
        continue;
      }
      const ids = new Set(copies.map((c) => c.id));
      newIdDuplicates += ids.size - 1;
      sameIdDuplicates += copies.length - ids.size;
    }
    return { lost, sameIdDuplicates, newIdDuplicates };
  }

  /** The longest pause between two arrivals after `since`: how long the pipeline stood still. */
  longestGapAfter(since: number): number {
    const times = this.landed.map((l) => l.at).filter((t) => t >= since);
    let gap = times.length > 0 ? times[0]! - since : 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  async close(): Promise<void> {
    await this.ch.close().catch(() => undefined);
  }
}

/** The real dedup worker, `node dist/cli/fanin.js worker`, with its own environment; stderr kept for failures. */
export class WorkerProcess {
  private output = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
  }

  static start(env: Record<string, string>): WorkerProcess {
    const cli = fileURLToPath(new URL('../../cli/fanin.js', import.meta.url));
    return new WorkerProcess(
      spawn(process.execPath, [cli, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  get log(): string {
    return this.output;
  }
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async exitCode(timeoutMs: number): Promise<number | null> {
    if (!this.exited)
      await Promise.race([
        new Promise((r) => this.child.once('exit', r)),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
    return this.child.exitCode;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    if ((await this.exitCode(10_000)) === null && !this.exited) this.child.kill('SIGKILL');
  }
}
