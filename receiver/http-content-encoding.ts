import { gunzip, inflate } from 'node:zlib';

/** A body whose Content-Encoding cannot be undone; `status` is the HTTP answer (400, 413 or 415). */
export class HttpEncodingError extends Error {
  override readonly name = 'HttpEncodingError';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Undoes a request's Content-Encoding as fluentd's in_http does: gzip (Fluent Bit's `compress gzip`, one or more
 * members) and deflate (zlib). The output is bounded: past `maxBytes` inflation stops and the request is refused with
 * 413, so a small zip bomb cannot exhaust memory (the Forward input bounds CompressedPackedForward the same way).
 * Inflation runs on zlib's thread pool, off the event loop.
 */
export async function decodeContentEncoding(
  header: string | undefined,
  body: Buffer,
  maxBytes: number,
): Promise<Buffer> {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return body;
  if (codings.length > 1)
    throw new HttpEncodingError(415, `Content-Encoding "${header}": one coding at most (gzip or deflate)`);
  const coding = codings[0]!;
  const inflater = coding === 'gzip' || coding === 'x-gzip' ? gunzip : coding === 'deflate' ? inflate : null;
  if (inflater === null)
    throw new HttpEncodingError(415, `Content-Encoding "${coding}" is not supported (gzip, deflate)`);
  return new Promise((resolve, reject) => {
    inflater(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) {
        resolve(out);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        reject(new HttpEncodingError(413, `body inflates to more than ${maxBytes} bytes`));
      } else {
        reject(new HttpEncodingError(400, `${coding} body does not inflate: ${err.message}`));
      }
    });
  });
}
