import { RelpError } from './relp-errors.js';

/*
 * The RELP frame codec (librelp's doc/relp.md, "RELP FRAME"), written by hand: the one RELP package on npm is an
 * unmaintained 0.0.1 client, and the framing is a dozen rules. Pure functions over Buffers, no socket, so a test can
 * split a stream at every byte:
 *
 *   RELP-FRAME = TXNR SP COMMAND SP DATALEN [SP DATA] LF
 *   TXNR       = 1*9DIGIT   (0 is reserved for hints: "serverclose")
 *   COMMAND    = 1*32ALPHA
 *   DATALEN    = 1*9DIGIT   (the octets of DATA; 0: no SP, no DATA)
 *
 * The decoder refuses what librelp's own receiver (relpframe.c) refuses, byte for byte: a tenth digit, a command
 * longer than 32 letters, anything but SP or LF after DATALEN, and a trailer that is not LF.
 */

export interface RelpFrame {
  readonly txnr: number;
  readonly command: string;
  readonly data: Buffer;
}

export type RelpDecodeResult =
  | { readonly kind: 'frame'; readonly frame: RelpFrame; readonly bytes: number }
  /** `atLeast`: the buffer must hold this many bytes before another attempt can get further. */
  | { readonly kind: 'need-more'; readonly atLeast: number }
  | { readonly kind: 'error'; readonly error: RelpError };

const SP = 0x20;
const LF = 0x0a;
const MAX_DIGITS = 9;
const MAX_COMMAND = 32;
/** TXNR wraps after this to 1 (relp.md: "latched at 999,999,999"). */
export const MAX_TXNR = 999_999_999;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** One frame from the start of `buf`, or how many bytes are needed first, or why the stream is broken. */
export function decodeRelpFrame(buf: Buffer, maxDataBytes: number): RelpDecodeResult {
  const more = (atLeast: number): RelpDecodeResult => ({ kind: 'need-more', atLeast });
  const fail = (error: RelpError): RelpDecodeResult => ({ kind: 'error', error });
  let i = 0;

  // TXNR
  let txnr = 0;
  while (i < buf.length && isDigit(buf[i]!)) {
    if (i === MAX_DIGITS) return fail(new RelpError('BAD_TXNR', 'TXNR longer than 9 digits'));
    txnr = txnr * 10 + buf[i]! - 0x30;
    i++;
  }
  if (i === buf.length) return more(i + 1);
  if (i === 0)
    return fail(new RelpError('BAD_TXNR', `frame does not start with a TXNR (byte 0x${buf[0]!.toString(16)})`));
  if (buf[i] !== SP) return fail(new RelpError('BAD_TXNR', 'TXNR not followed by SP'));
  i++;

  // COMMAND
  const commandStart = i;
  while (i < buf.length && isAlpha(buf[i]!)) {
    if (i - commandStart === MAX_COMMAND) return fail(new RelpError('BAD_COMMAND', 'command longer than 32 letters'));
    i++;
  }
  if (i === buf.length) return more(i + 1);
  if (i === commandStart) return fail(new RelpError('BAD_COMMAND', 'empty or non-alphabetic command'));
  if (buf[i] !== SP) return fail(new RelpError('BAD_COMMAND', 'command not followed by SP'));
  const command = buf.toString('latin1', commandStart, i);
  i++;

  // DATALEN
  const lenStart = i;
  let dataLength = 0;
  while (i < buf.length && isDigit(buf[i]!)) {
    if (i - lenStart === MAX_DIGITS) return fail(new RelpError('BAD_DATALEN', 'DATALEN longer than 9 digits'));
    dataLength = dataLength * 10 + buf[i]! - 0x30;
    i++;
  }
  if (i === buf.length) return more(i + 1);
  if (i === lenStart) return fail(new RelpError('BAD_DATALEN', 'missing DATALEN'));

  if (dataLength === 0) {
    if (buf[i] !== LF)
      return fail(new RelpError('MISSING_TRAILER', 'a frame without data must end in LF right after DATALEN'));
    return { kind: 'frame', frame: { txnr, command, data: Buffer.alloc(0) }, bytes: i + 1 };
  }
  if (buf[i] !== SP) return fail(new RelpError('BAD_DATALEN', 'DATALEN not followed by SP'));
  // Checked before any data is held: a declared 999999999-byte frame is refused at its header.
  if (dataLength > maxDataBytes)
    return fail(new RelpError('DATA_TOO_LARGE', `DATALEN ${dataLength} over the limit of ${maxDataBytes}`));
  const dataStart = i + 1;
  const trailer = dataStart + dataLength;
  if (buf.length <= trailer) return more(trailer + 1);
  if (buf[trailer] !== LF) return fail(new RelpError('MISSING_TRAILER', 'DATA not followed by LF (DATALEN wrong?)'));
  return { kind: 'frame', frame: { txnr, command, data: buf.subarray(dataStart, trailer) }, bytes: trailer + 1 };
}

/** One frame as it goes on the wire. */
export function encodeRelpFrame(txnr: number, command: string, data: string | Buffer = ''): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const head = body.length === 0 ? `${txnr} ${command} 0\n` : `${txnr} ${command} ${body.length} `;
  if (body.length === 0) return Buffer.from(head, 'latin1');
  return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from([LF])]);
}

/** The hint a server sends before it closes a session; TXNR 0, never answered. */
export const SERVERCLOSE_FRAME = encodeRelpFrame(0, 'serverclose');

/** The TXNR that follows `txnr` in a session. */
export function nextTxnr(txnr: number): number {
  return txnr >= MAX_TXNR ? 1 : txnr + 1;
}

/**
 * Frames from a byte stream, in order: bytes are held until a frame is whole. Parts of a frame that is still coming are
 * kept as a list and joined once, when the decoder says enough bytes are there, so a frame of n bytes arriving in many
 * reads costs O(n), not O(n²). Holds at most one frame (bounded by maxDataBytes plus its header).
 */
export class RelpFrameReader {
  private parts: Buffer[] = [];
  private held = 0;
  private atLeast = 1;
  private broken: RelpError | null = null;

  constructor(private readonly maxDataBytes: number) {}

  /** Frames completed by this chunk; `error` once the stream is broken (frames before it are still returned). */
  push(chunk: Buffer): { frames: RelpFrame[]; error: RelpError | null } {
    const frames: RelpFrame[] = [];
    if (this.broken) return { frames, error: this.broken };
    this.parts.push(chunk);
    this.held += chunk.length;
    if (this.held < this.atLeast) return { frames, error: null };
    let buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.held);
    for (;;) {
      if (buf.length === 0) {
        this.atLeast = 1;
        break;
      }
      const r = decodeRelpFrame(buf, this.maxDataBytes);
      if (r.kind === 'error') {
        this.broken = r.error;
        buf = Buffer.alloc(0);
        break;
      }
      if (r.kind === 'need-more') {
        this.atLeast = r.atLeast;
        break;
      }
      frames.push(r.frame); // a view of the read buffer: taken (encoded into an event) before the next read
      buf = buf.subarray(r.bytes);
    }
    this.parts = buf.length === 0 ? [] : [buf];
    this.held = buf.length;
    return { frames, error: this.broken };
  }

  /** Bytes held of a frame not yet complete. */
  get pendingBytes(): number {
    return this.held;
  }
}
