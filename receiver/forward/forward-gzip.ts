import { gunzip, gunzipSync } from 'node:zlib';
import { ForwardError } from './forward-errors.js';

/**
 * CompressedPackedForward payloads: gzip, possibly several members one after another (a sender may compress each
 * entry, or each flush, as its own member; node:zlib inflates concatenated members as one stream). The output is
 * bounded: past `maxOutputBytes` inflation stops and the message is refused, so a small zip bomb cannot exhaust
 * memory.
 */
export async function gunzipMembers(payload: Uint8Array, maxOutputBytes: number): Promise<Buffer> {
  checkInput(payload);
  return new Promise((resolve, reject) => {
    gunzip(payload, { maxOutputLength: maxOutputBytes }, (err, out) => {
      if (err) reject(mapError(err, maxOutputBytes));
      else resolve(out);
    });
  });
}

/** The same, synchronously: for tests and tools (the receiver inflates off the event loop). */
export function gunzipMembersSync(payload: Uint8Array, maxOutputBytes: number): Buffer {
  checkInput(payload);
  try {
    return gunzipSync(payload, { maxOutputLength: maxOutputBytes });
  } catch (err) {
    throw mapError(err as Error, maxOutputBytes);
  }
}

function checkInput(payload: Uint8Array): void {
  if (payload.byteLength < 18 || payload[0] !== 0x1f || payload[1] !== 0x8b) {
    throw new ForwardError('GZIP_INVALID', 'compressed entries are not gzip (no 1f 8b member header)');
  }
}

function mapError(err: Error, maxOutputBytes: number): ForwardError {
  if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return new ForwardError('DECOMPRESSED_TOO_LARGE', `entries inflate to more than ${maxOutputBytes} bytes`);
  }
  return new ForwardError('GZIP_INVALID', `gzip payload does not inflate: ${err.message}`);
}
