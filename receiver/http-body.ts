import { decode as decodeMsgpack } from '@msgpack/msgpack';

/** A request body that cannot be turned into records; answered 400 with this message. */
export class HttpBodyError extends Error {
  override readonly name = 'HttpBodyError';
  readonly code = 'HTTP_BAD_BODY';
}

export type HttpRecord = Record<string, unknown>;

/**
 * fluentd in_http's body forms: a JSON object or array; a form with `json=` or `msgpack=`; a msgpack body;
 * newline-delimited JSON. Pure, so every form is tested without a socket.
 */
export function parseHttpBody(contentType: string | undefined, body: Buffer): HttpRecord[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return parseForm(body.toString('utf8'));
  if (type === 'application/msgpack' || type === 'application/x-msgpack') return toRecords(decodeMsgpackBody(body), 'msgpack body');
  if (type === 'application/x-ndjson' || type === 'application/jsonlines') return parseNdjson(body.toString('utf8'));
  return toRecords(parseJson(body.toString('utf8'), 'JSON body'), 'JSON body');
}

function parseForm(text: string): HttpRecord[] {
  const form = new URLSearchParams(text);
  const json = form.get('json');
  if (json !== null) return toRecords(parseJson(json, 'json= field'), 'json= field');
  const msgpack = form.get('msgpack');
  if (msgpack !== null) return toRecords(decodeMsgpackBody(Buffer.from(msgpack, 'latin1')), 'msgpack= field');
  throw new HttpBodyError('form body has neither a json= nor a msgpack= field');
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
  try { return JSON.parse(text); } catch (err) {
    throw new HttpBodyError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function decodeMsgpackBody(bytes: Buffer): unknown {
  try { return decodeMsgpack(bytes, { maxStrLength: bytes.length, maxBinLength: bytes.length, maxArrayLength: bytes.length, maxMapLength: bytes.length }); } catch (err) {
    throw new HttpBodyError(`msgpack body does not decode: ${(err as Error).message}`);
  }
}

function toRecords(value: unknown, what: string): HttpRecord[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new HttpBodyError(`${what} is an empty array`);
  list.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new HttpBodyError(`${what}: record ${i} is not an object`);
    }
  });
  return list as HttpRecord[];
}

/** in_http's `time` query parameter: epoch seconds (fractions allowed). Returns ISO 8601, or throws. */
export function parseTimeParam(value: string | null): string | null {
  if (value === null || value === '') return null;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 253402300799) throw new HttpBodyError(`time parameter "${value}" is not epoch seconds`);
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** Tags are dotted names (fluentd); the path `/app.access` gives `app.access`. */
export function tagFromPath(pathname: string): string | null {
  const tag = decodeURIComponent(pathname.replace(/^\/+/, '')).replace(/\//g, '.');
  return /^[A-Za-z0-9_.\-:@]{1,256}$/.test(tag) && !tag.startsWith('.') && !tag.endsWith('.') ? tag : null;
}
