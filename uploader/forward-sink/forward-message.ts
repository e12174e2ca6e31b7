import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import type { ForwardChunk } from './forward-entries.js';

const gzip = promisify(gzipCallback);
const encoder = new Encoder();

export interface MessageOptions {
  readonly compress: 'text' | 'gzip';
  /** Set `chunk` (and so ask for an ack) only when acks are required, as out_forward does. */
  readonly requireAck: boolean;
}

/**
 * `[tag, entries (bin), {size, chunk?, compressed?}]`: PackedForward, or CompressedPackedForward when gzip is on.
 * Entries travel as bin (the v1 spec allows bin or str; str is only a legacy of msgpack without bin).
 */
export async function encodePackedForward(chunk: ForwardChunk, options: MessageOptions): Promise<Buffer> {
  const option: Record<string, unknown> = { size: chunk.count };
  if (options.requireAck) option.chunk = chunk.chunkId;
  let entries: Buffer = chunk.entries;
  if (options.compress === 'gzip') {
    entries = await gzip(chunk.entries);
    option.compressed = 'gzip';
  }
  const bytes = encoder.encode([chunk.tag, entries, option]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
