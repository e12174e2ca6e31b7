import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import { HttpBodyError, parseHttpBody, parseTimeParam, tagFromPath } from '../http-body.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeStructuredEvent } from '../structured-event.js';

export interface HttpInputOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxBodyBytes: number;
  /** When not empty, every request must carry `Authorization: Bearer <token>` (else 401). */
  readonly bearerToken?: string;
}

/**
 * `POST /<tag>` like fluentd's in_http. The response is sent only after the broker confirmed the events; under
 * backpressure (memory bound reached, or stream inputs paused) it is 503 with Retry-After before the body is read.
 */
export async function startHttpInput(
  options: HttpInputOptions, intake: Intake, metrics: ReceiverMetrics, log: Logger,
): Promise<Server> {
  const received = metrics.eventsReceived.labels('http', 'http');
  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    metrics.httpRequests.inc({ status: String(status) });
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body ? body + '\n' : '');
  };

  const authorized = bearerCheck(options.bearerToken ?? '');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (!authorized(req.headers.authorization)) {
      reply(res, 401, 'a bearer token is required', { 'www-authenticate': 'Bearer realm="fanin"' });
      req.resume();
      return;
    }
    if (req.method !== 'POST') { reply(res, 405, 'use POST /<tag>', { allow: 'POST' }); req.resume(); return; }
    const tag = tagFromPath(url.pathname);
    if (tag === null) { reply(res, 400, `"${url.pathname}" is not a valid tag path`); req.resume(); return; }
    if (!intake.canAccept || intake.paused) { reply(res, 503, 'receiver under backpressure, retry', { 'retry-after': '1' }); req.resume(); return; }
    const body = await readBody(req, options.maxBodyBytes);
    if (body === null) { reply(res, 413, `body larger than ${options.maxBodyBytes} bytes`, { connection: 'close' }); return; }
    let records;
    let time: string | null;
    try {
      records = parseHttpBody(req.headers['content-type'], body);
      time = parseTimeParam(url.searchParams.get('time'));
    } catch (err) {
      if (err instanceof HttpBodyError) { reply(res, 400, err.message); return; }
      throw err;
    }
    const ctx = { receiverId: options.receiverId, source: normalizeAddress(req.socket.remoteAddress), transport: 'http', format: 'http' } as const;
    const now = new Date();
    const seqs: number[] = [];
    for (const record of records) {
      const event = encodeStructuredEvent(tag, time, record, ctx, now);
      seqs.push(intake.submit(event.key, event.body, event.route));
    }
    received.inc(records.length);
    await intake.confirmed(seqs);
    reply(res, 200, '');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log.warn({ err: err.message }, 'HTTP input request failed');
      reply(res, 503, `not accepted: ${err.message}`, { 'retry-after': '1' });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/** A check of the Authorization header against the configured token, in constant time; always true without one. */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  if (token === '') return () => true;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = digest(token);
  return (header) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
    // Comparing digests keeps the comparison constant-time whatever the length sent.
    return m !== null && timingSafeEqual(digest(m[1]!), expected);
  };
}

/** Reads the body up to `max` bytes; null (and the rest discarded) when it is larger. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) { req.resume(); return Promise.resolve(null); }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true; else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
