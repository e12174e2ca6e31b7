/**
 * What a streaming decoder returns for the bytes pushed into it: every frame they completed, in order, and the
 * error that broke the stream, if any. Frames before the break are good and must be taken; once `error` is set the
 * stream cannot be resynchronised and every later push returns the same error with no frames. Returned, not
 * thrown: decoders sit on the hot path of every read, and a caller cannot forget the frames that came before.
 */
export interface DecodeResult<E extends Error> {
  readonly frames: Buffer[];
  readonly error: E | null;
}
