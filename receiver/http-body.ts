import { decode as decodeMsgpack } from '@msgpack/msgpack';
import { FORWARD_MAX_DEPTH } from './forward/forward-input.js';

/** A request body that cannot be turned into records; answered 400 with this message. */
export class HttpBodyError extends Error {
  override readonly name = 'HttpBodyError';
  readonly code = 'HTTP_BAD_BODY';
}

export type HttpRecord = Record<string, unknown>;

/**
 * Deepest nesting of arrays and maps a body may have, the outermost counted (a JSON array of records is 1, each record
 * in it 2): the Forward input's limit for a message, so a record either input takes can travel the same way.
 */
export const HTTP_MAX_DEPTH = FORWARD_MAX_DEPTH;

/**
 * fluentd in_http's body forms: a JSON object or array; a form with `json=` or `msgpack=`; a msgpack body;
 * newline-delimited JSON. Pure, so every form is tested without a socket.
 */
export function parseHttpBody(contentType: string | undefined, body: Buffer): HttpRecord[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return parseForm(body);
  if (type === 'application/msgpack' || type === 'application/x-msgpack')
    return toRecords(decodeMsgpackBody(body), 'msgpack body');
  if (type === 'application/x-ndjson' || type === 'application/jsonlines') return parseNdjson(body.toString('utf8'));
  return toRecords(parseJson(body.toString('utf8'), 'JSON body'), 'JSON body');
}

function parseForm(body: Buffer): HttpRecord[] {
  const form = parseFormBytes(body);
  const json = form.get('json');
  if (json !== undefined) return toRecords(parseJson(json.toString('utf8'), 'json= field'), 'json= field');
  const msgpack = form.get('msgpack');
  if (msgpack !== undefined) return toRecords(decodeMsgpackBody(msgpack), 'msgpack= field');
  throw new HttpBodyError('form body has neither a json= nor a msgpack= field');
}

/**
 * application/x-www-form-urlencoded to each field's bytes (the first of a repeated name). Byte-exact: a `msgpack=`
 * field is binary, which URLSearchParams would read as UTF-8 text and lose every byte that is not.
 */
export function parseFormBytes(body: Buffer): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start); // '&'
    if (end === -1) end = body.length;
    if (end > start) {
      const pair = body.subarray(start, end);
      const eq = pair.indexOf(0x3d); // '='
      const name = percentDecode(eq === -1 ? pair : pair.subarray(0, eq)).toString('utf8');
      if (!fields.has(name)) fields.set(name, percentDecode(eq === -1 ? Buffer.alloc(0) : pair.subarray(eq + 1)));
    }
    start = end + 1;
  }
  return fields;
}

/** `+` is a space and `%XX` a byte; a `%` not followed by two hex digits stays as it is (as URLSearchParams does). */
function percentDecode(bytes: Buffer): Buffer {
  if (bytes.indexOf(0x25) === -1 && bytes.indexOf(0x2b) === -1) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x2b) {
      out[n++] = 0x20;
      continue;
    }
    if (c === 0x25 && i + 2 < bytes.length) {
      const hi = hexValue(bytes[i + 1]!);
      const lo = hexValue(bytes[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function parseNdjson(text: string): HttpRecord[] {
  const out: HttpRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    out.push(...toRecords(parseJson(line, `line ${i + 1}`), `line ${i + 1}`));
  });
  return out;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpBodyError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function decodeMsgpackBody(bytes: Buffer): unknown {
  try {
    return decodeMsgpack(bytes, {
      maxStrLength: bytes.length,
      maxBinLength: bytes.length,
      maxArrayLength: bytes.length,
      maxMapLength: bytes.length,
    });
  } catch (err) {
    throw new HttpBodyError(`msgpack body does not decode: ${(err as Error).message}`);
  }
}

function toRecords(value: unknown, what: string): HttpRecord[] {
  const wrapped = Array.isArray(value);
  const list = wrapped ? value : [value];
  if (list.length === 0) throw new HttpBodyError(`${what} is an empty array`);
  // The array around the records counts as a level, as the message around them does in the Forward input.
  const allowed = HTTP_MAX_DEPTH - (wrapped ? 1 : 0);
  list.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r) || r instanceof Uint8Array) {
      throw new HttpBodyError(`${what}: record ${i} is not an object`);
    }
    if (nestingDepth(r, allowed) > allowed) {
      throw new HttpBodyError(
        `${what}: record ${i} is nested deeper than ${HTTP_MAX_DEPTH} levels (counting the body's own array)`,
      );
    }
  });
  return list as HttpRecord[];
}

/** Levels of arrays and maps in `value` (a scalar is 0); stops counting past `limit`, so a hostile body costs little. */
export function nestingDepth(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    const d = nestingDepth(child, limit - 1);
    if (d > deepest) deepest = d;
    if (deepest >= limit) break;
  }
  return 1 + deepest;
}

/** in_http's `time` query parameter: epoch seconds (fractions allowed). Returns ISO 8601, or throws. */
export function parseTimeParam(value: string | null): string | null {
  if (value === null || value === '') return null;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 253402300799)
    throw new HttpBodyError(`time parameter "${value}" is not epoch seconds`);
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** Tags are dotted names (fluentd); the path `/app.access` gives `app.access`. */
export function tagFromPath(pathname: string): string | null {
  const tag = decodeURIComponent(pathname.replace(/^\/+/, '')).replace(/\//g, '.');
  return /^[A-Za-z0-9_.\-:@]{1,256}$/.test(tag) && !tag.startsWith('.') && !tag.endsWith('.') ? tag : null;
}
