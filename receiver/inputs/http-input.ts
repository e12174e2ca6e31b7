import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import { HttpBodyError, parseHttpBody, parseTimeParam, tagFromPath } from '../http-body.js';
import { decodeContentEncoding, HttpEncodingError } from '../http-content-encoding.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import { encodeStructuredEvent } from '../structured-event.js';
import { ConnectionGate } from './connection-gate.js';
import { ConnectionLimiter } from './connection-limiter.js';
import type { ProxyMode } from './proxy-protocol.js';
import type { TlsCredentials } from './tls-credentials.js';

export interface HttpInputOptions {
  readonly host: string;
  readonly port: number;
  readonly receiverId: string;
  readonly maxBodyBytes: number;
  /** Bound of a body after its Content-Encoding is undone. */
  readonly maxDecompressedBytes: number;
  /** When not empty, every request must carry `Authorization: Bearer <token>` (else 401). */
  readonly bearerToken?: string;
  /** HTTPS with these credentials; null or absent: plain HTTP. */
  readonly tls?: {
    readonly credentials: TlsCredentials;
    readonly requireClientCert: boolean;
    readonly handshakeTimeoutMs: number;
  } | null;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** null: off. */
  readonly proxyProtocol: ProxyMode | null;
  readonly proxyHeaderTimeoutMs: number;
}

export interface HttpInput {
  readonly port: number;
  /** Stops accepting; idle keep-alive connections close at once, requests in flight get their answer (bounded). */
  close(graceMs?: number): Promise<void>;
}

/**
 * `POST /<tag>` like fluentd's in_http and Fluent Bit's `http` output. The response is sent only after the broker
 * confirmed the events; under backpressure (memory bound reached, or stream inputs paused) it is 503 with
 * Retry-After before the body is read. A request is all or nothing: every record is decoded and encoded before the
 * first is handed on, so a refused request (4xx) left nothing behind and a retry cannot duplicate.
 *
 * A plain TCP listener admits each connection (limits, PROXY header) and only then hands it to the HTTP(S) server,
 * which never listens itself.
 */
export async function startHttpInput(
  options: HttpInputOptions,
  intake: Intake,
  metrics: ReceiverMetrics,
  log: Logger,
): Promise<HttpInput> {
  const received = metrics.eventsReceived.labels('http', 'http');
  const idleTimeouts = metrics.idleTimeouts.labels('http');
  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    metrics.httpRequests.inc({ status: String(status) });
    if (!res.headersSent)
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body ? body + '\n' : '');
  };
  /** Sockets with a request being answered: waiting for a confirm is not idleness. */
  const busy = new WeakSet<Socket>();

  const authorized = bearerCheck(options.bearerToken ?? '');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (!authorized(req.headers.authorization)) {
      reply(res, 401, 'a bearer token is required', { 'www-authenticate': 'Bearer realm="fanin"' });
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      reply(res, 405, 'use POST /<tag>', { allow: 'POST' });
      req.resume();
      return;
    }
    const tag = tagFromPath(url.pathname);
    if (tag === null) {
      reply(res, 400, `"${url.pathname}" is not a valid tag path`);
      req.resume();
      return;
    }
    if (!intake.canAccept || intake.paused) {
      reply(res, 503, 'receiver under backpressure, retry', { 'retry-after': '1' });
      req.resume();
      return;
    }
    const wire = await readBody(req, options.maxBodyBytes);
    if (wire === null) {
      reply(res, 413, `body larger than ${options.maxBodyBytes} bytes`, { connection: 'close' });
      return;
    }
    const now = new Date();
    const source = normalizeAddress(req.socket.remoteAddress);
    const ctx = {
      receiverId: options.receiverId,
      source,
      transport: 'http',
      format: 'http',
      receiptTimeWhenNone: true,
    } as const;
    const events: ReturnType<typeof encodeStructuredEvent>[] = [];
    try {
      const body = await decodeContentEncoding(req.headers['content-encoding'], wire, options.maxDecompressedBytes);
      const records = parseHttpBody(req.headers['content-type'], body);
      const time = parseTimeParam(url.searchParams.get('time'));
      records.forEach((record, i) => {
        try {
          events.push(encodeStructuredEvent(tag, time, record, ctx, now));
        } catch (err) {
          throw new HttpBodyError(`record ${i} cannot be taken: ${(err as Error).message}`);
        }
      });
    } catch (err) {
      if (err instanceof HttpEncodingError) {
        reply(res, err.status, err.message);
        return;
      }
      if (err instanceof HttpBodyError) {
        reply(res, 400, err.message);
        return;
      }
      throw err;
    }
    // Nothing is handed on before every record of the request was taken.
    const seqs = events.map((e) => intake.submit(e.key, e.body, e.route));
    received.inc(events.length);
    await intake.confirmed(seqs);
    reply(res, 200, '');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    busy.add(req.socket);
    res.once('close', () => busy.delete(req.socket));
    handle(req, res).catch((err: Error) => {
      log.warn({ err: err.message }, 'HTTP input request failed');
      reply(res, 503, `not accepted: ${err.message}`, { 'retry-after': '1' });
    });
  };

  const tls = options.tls ?? null;
  const http: HttpServer = tls
    ? createHttpsServer(
        {
          cert: tls.credentials.cert,
          key: tls.credentials.key,
          ca: tls.credentials.ca,
          minVersion: 'TLSv1.2',
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
          handshakeTimeout: tls.handshakeTimeoutMs,
        },
        onRequest,
      )
    : createServer(onRequest);
  // Between requests (keep-alive) and before the first one: the socket's own inactivity timer, counted here.
  http.keepAliveTimeout = options.idleTimeoutMs;
  http.timeout = options.idleTimeoutMs;
  http.on('timeout', (socket: Socket) => {
    if (busy.has(socket)) {
      socket.setTimeout(options.idleTimeoutMs);
      return;
    }
    idleTimeouts.inc();
    socket.destroy();
  });

  const limiter = new ConnectionLimiter(options.maxConnections, options.maxConnectionsPerAddress);
  const gate = new ConnectionGate(
    { transport: 'http', proxyProtocol: options.proxyProtocol, proxyHeaderTimeoutMs: options.proxyHeaderTimeoutMs },
    limiter,
    metrics,
    log,
  );
  if (tls) {
    // A failed handshake leaves the raw socket open until destroyed: close it, or it holds its slot.
    http.on('tlsClientError', (err: Error, socket: Socket) => {
      metrics.httpTlsHandshakeFailures.inc();
      log.debug({ err: err.message }, 'HTTP input TLS handshake failed');
      socket.destroy();
    });
    http.on('secureConnection', (socket: Socket) => gate.adopt(socket));
  }
  // Node starts the headersTimeout / requestTimeout checks (slow senders) and its connection list on 'listening'; this
  // server never listens itself, so it is told here.
  http.emit('listening');
  const sockets = new Set<Socket>();
  const listener: Server = createNetServer((raw) =>
    gate.accept(raw, (admitted) => {
      sockets.add(admitted);
      admitted.once('close', () => sockets.delete(admitted));
      http.emit('connection', admitted);
      if (!tls) admitted.resume(); // paused after a PROXY header; TLS reads what was put back on its own
    }),
  );
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port, options.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  return {
    port: (listener.address() as AddressInfo).port,
    close: async (graceMs = 2000) => {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      http.close(); // idle keep-alive connections end now; busy ones get their answer within the grace
      const deadline = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(deadline);
    },
  };
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
  if (declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
