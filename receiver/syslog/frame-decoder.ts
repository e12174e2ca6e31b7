// RFC 6587 framing for syslog over TCP, without a socket: bytes in, complete frames out.
//
// The framing is chosen per frame, because real senders mix them (a relay may forward octet-counted frames
// from one source and newline-terminated ones from another over the same connection):
//   - first byte 1-9: octet counting, `MSG-LEN SP SYSLOG-MSG` (RFC 6587 3.4.1);
//   - anything else: non-transparent framing, the frame ends at LF (RFC 6587 3.4.2);
//   - digits followed by a byte that is neither a digit nor SP were no MSG-LEN after all (`2024-01-01 …`, a
//     Cisco `123: …` line sent without PRI): the frame is newline-framed from its first digit, digits included.
//     Closing the connection instead would lose whatever the sender had in flight. (rsyslog's imtcp logs a framing
//     error and goes on with the number as the frame's length, which cuts such lines at the wrong places.)
// A frame that lies whole in the chunk just pushed is a view of that chunk, not a copy: the receiver turns every
// frame into its key and body (copies both) before the next read, so a copy per frame bought nothing. A caller that
// keeps a frame past its next read, or reuses its read buffer, copies the frame first (a small view kept in a queue
// would pin a whole 64 KiB socket chunk). The decoder itself keeps no reference into a chunk once push() returns:
// the bytes of a frame that continues in the next chunk are copied.

import type { DecodeResult } from '../../shared/errors/decode-result.js';
import type { Disposition } from '../../shared/errors/disposition.js';

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;
/** RFC 6587 does not bound MSG-LEN; 10 digits is past any sane maximum and stops an endless digit stream. */
const MAX_LEN_DIGITS = 10;

export interface FrameDecoderOptions {
  /** Largest frame accepted, in bytes (content without the terminating LF). Required: there is no safe default. */
  maxFrameBytes: number;
  /** Called for each frame whose leading digits turned out not to be a MSG-LEN (it is read as a newline frame). */
  onDigitsNotLength?: () => void;
}

/**
 * A frame is larger than maxFrameBytes. Disposition close: the decoder cannot find the next frame boundary without
 * reading the oversized frame, so the listener closes the socket (docs/errors.md).
 */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  readonly code = 'FRAME_TOO_LARGE';
  readonly disposition: Disposition = 'close';
  /** MSG-LEN the sender declared (octet counting), as far as its digits had arrived; null for a newline frame. */
  readonly declaredBytes: number | null;
  readonly maxFrameBytes: number;

  constructor(declaredBytes: number | null, maxFrameBytes: number) {
    super(
      declaredBytes === null
        ? `newline-framed syslog frame exceeds ${maxFrameBytes} bytes without LF`
        : `octet-counted syslog frame declares ${declaredBytes} bytes, limit ${maxFrameBytes}`,
    );
    this.declaredBytes = declaredBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

type State = 'frame-start' | 'msg-len' | 'octet-body' | 'newline-body';

export class SyslogFrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #onDigitsNotLength: (() => void) | undefined;
  #state: State = 'frame-start';
  /** While in 'msg-len': the length read so far; in 'octet-body': the declared length. */
  #declared = 0;
  #digits = 0;
  /** Copies of the current frame's bytes so far: a list, not a growing Buffer, so each byte is copied twice at most. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Once a push fails the stream is out of sync for good; later pushes return the same error. */
  #failure: FrameTooLargeError | null = null;

  constructor(options: FrameDecoderOptions) {
    const max = options.maxFrameBytes;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${String(max)}`);
    }
    this.#maxFrameBytes = max;
    this.#onDigitsNotLength = options.onDigitsNotLength;
  }

  /**
   * Feed bytes from the socket; returns every frame completed by them (possibly none), and a FrameTooLargeError
   * when one broke the stream: the frames before it are good, and the connection must be closed (further pushes
   * return the same error). The same contract as the Forward input's MsgpackFrameScanner (DecodeResult).
   */
  push(chunk: Buffer): DecodeResult<FrameTooLargeError> {
    if (this.#failure !== null) return { frames: [], error: this.#failure };
    const frames: Buffer[] = [];
    try {
      let pos = 0;
      while (pos < chunk.length) {
        switch (this.#state) {
          case 'frame-start':
            pos = this.#startFrame(chunk, pos);
            break;
          case 'msg-len':
            pos = this.#readLength(chunk, pos);
            break;
          case 'octet-body':
            pos = this.#readOctetBody(chunk, pos, frames);
            break;
          case 'newline-body':
            pos = this.#readLine(chunk, pos, frames);
            break;
        }
      }
    } catch (err) {
      // Only the size checks below throw; anything else is a bug and is not swallowed.
      if (!(err instanceof FrameTooLargeError)) throw err;
      this.#failure = err;
      this.#pending = [];
      this.#pendingBytes = 0;
      return { frames, error: err };
    }
    return { frames, error: null };
  }

  /**
   * At end of stream: the unterminated last newline-framed frame, if any (null if nothing pending).
   * An octet-counted frame cut short by the sender is dropped: it is not a complete message.
   * (After end() the decoder may be reused for a new stream.)
   */
  end(): Buffer | null {
    // Digits and then the end of the stream never became a MSG-LEN (no SP): they are a line, like `42\n` would be.
    if (this.#state === 'msg-len') this.#digitsStartLine(0);
    const frame = this.#state === 'newline-body' ? trimLineEnd(this.#takePending(null, 0, 0)) : null;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#state = 'frame-start';
    return frame === null || frame.length === 0 ? null : frame;
  }

  #startFrame(chunk: Buffer, pos: number): number {
    const b = chunk[pos]!;
    // Stray line ends between frames (an LF after an octet-counted frame, blank lines) are not frames.
    if (b === LF || b === CR) return pos + 1;
    if (b >= DIGIT_1 && b <= DIGIT_9) {
      this.#state = 'msg-len';
      this.#declared = 0;
      this.#digits = 0;
    } else {
      this.#state = 'newline-body';
    }
    return pos;
  }

  #readLength(chunk: Buffer, pos: number): number {
    for (; pos < chunk.length; pos++) {
      const b = chunk[pos]!;
      if (b === SP) {
        this.#state = 'octet-body';
        return pos + 1;
      }
      if (b < DIGIT_0 || b > DIGIT_9) return this.#digitsStartLine(pos);
      this.#declared = this.#declared * 10 + (b - DIGIT_0);
      this.#digits++;
      // Reject on the digits alone: waiting for the body of a 999999999-byte frame is the attack.
      if (this.#declared > this.#maxFrameBytes || this.#digits > MAX_LEN_DIGITS) {
        throw new FrameTooLargeError(this.#declaredSoFar(chunk, pos + 1), this.#maxFrameBytes);
      }
    }
    return pos;
  }

  /**
   * The digits read so far start a newline frame instead: they become its first bytes, and the byte at `pos` (not
   * consumed) continues it. The digits are rebuilt from the value: the first is 1-9, so the value has exactly as
   * many decimal digits as were read, and the cap checked above keeps it exact.
   */
  #digitsStartLine(pos: number): number {
    this.#pending.push(Buffer.from(String(this.#declared), 'latin1'));
    this.#pendingBytes = this.#digits;
    this.#state = 'newline-body';
    this.#onDigitsNotLength?.();
    return pos;
  }

  /** For the error report only: read the rest of MSG-LEN if this chunk holds it, up to MAX_LEN_DIGITS. */
  #declaredSoFar(chunk: Buffer, pos: number): number {
    let value = this.#declared;
    for (let d = this.#digits; d < MAX_LEN_DIGITS && pos < chunk.length; d++, pos++) {
      const b = chunk[pos]!;
      if (b < DIGIT_0 || b > DIGIT_9) break;
      value = value * 10 + (b - DIGIT_0);
    }
    return value;
  }

  #readOctetBody(chunk: Buffer, pos: number, frames: Buffer[]): number {
    const missing = this.#declared - this.#pendingBytes;
    if (chunk.length - pos < missing) {
      this.#keep(chunk, pos, chunk.length);
      return chunk.length;
    }
    const end = pos + missing;
    // The frame's trailing CR/LF/NUL are framing noise from some senders; dropping them keeps the dedup hash of
    // the same message equal whichever framing carried it.
    this.#emit(trimLineEnd(this.#takePending(chunk, pos, end)), frames);
    return end;
  }

  #readLine(chunk: Buffer, pos: number, frames: Buffer[]): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf === -1 ? chunk.length : lf;
    if (this.#pendingBytes + (end - pos) > this.#maxFrameBytes) {
      throw new FrameTooLargeError(null, this.#maxFrameBytes);
    }
    if (lf === -1) {
      this.#keep(chunk, pos, end);
      return end;
    }
    this.#emit(trimLineEnd(this.#takePending(chunk, pos, end)), frames);
    return lf + 1;
  }

  #emit(frame: Buffer, frames: Buffer[]): void {
    if (frame.length > 0) frames.push(frame);
    this.#state = 'frame-start';
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.#pending.push(Buffer.from(chunk.subarray(start, end)));
    this.#pendingBytes += end - start;
  }

  /** The pending bytes plus chunk[start, end): a view of the chunk when nothing is pending, else one new Buffer. */
  #takePending(chunk: Buffer | null, start: number, end: number): Buffer {
    let frame: Buffer;
    if (this.#pending.length === 0) {
      frame = chunk === null ? Buffer.alloc(0) : chunk.subarray(start, end);
    } else {
      if (chunk !== null && end > start) this.#pending.push(chunk.subarray(start, end));
      frame = Buffer.concat(this.#pending, this.#pendingBytes + (end - start));
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    return frame;
  }
}

/**
 * A frame without its trailing CR, LF and NUL bytes (a view, no copy): terminators some senders add, never
 * content. receiver/syslog-event.ts's stripTrailingTerminators trims UDP datagrams by the same rule, which keeps
 * the dedup hash of one message equal over TCP and UDP; change both together.
 */
export function trimLineEnd(frame: Buffer): Buffer {
  let end = frame.length;
  while (end > 0) {
    const b = frame[end - 1];
    if (b !== LF && b !== CR && b !== NUL) break;
    end--;
  }
  return end === frame.length ? frame : frame.subarray(0, end);
}
