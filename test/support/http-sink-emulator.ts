import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ScriptedAnswer {
  status: number;
  body?: string;
}

/**
 * A loopback stand-in for the HTTP sink's peers: an NDJSON ingest endpoint that remembers Idempotency-Keys (`POST
 * /ingest`), and the Elasticsearch/OpenSearch `_bulk` API with `create` semantics (`POST /<anything>/_bulk`): a
 * document whose _id exists answers 409 version_conflict_engine_exception. Faults are scripted per request, and per
 * bulk item by _id.
 */
export class SinkEmulator {
  private server: Server | null = null;
  port = 0;
  /** Idempotency-Key of every request that reached /ingest, answered or not. */
  readonly keys: string[] = [];
  /** Event lines by id, as stored once per key. */
  readonly ingested = new Map<string, Record<string, unknown>[]>();
  /** Bulk documents by `index/_id`. */
  readonly documents = new Map<string, Record<string, unknown>>();
  readonly headers: Record<string, string | string[] | undefined>[] = [];
  /** Answers for the next requests, in order, before any processing. */
  readonly script: ScriptedAnswer[] = [];
  /** Per bulk item status by _id (used once). */
  readonly itemFaults = new Map<string, { status: number; type: string }>();
  /** Bulk creates answered 409 (already there). */
  conflicts = 0;
  private readonly seenKeys = new Set<string>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: string }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    this.headers.push(req.headers);
    const key = req.headers['idempotency-key'];
    if (req.url === '/ingest' && typeof key === 'string') this.keys.push(key);
    const scripted = this.script.shift();
    if (scripted) return { status: scripted.status, body: scripted.body ?? '{"error":"scripted"}' };
    const lines = raw
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (req.method === 'POST' && req.url === '/ingest') {
      if (typeof key !== 'string') return { status: 400, body: '{"error":"Idempotency-Key required"}' };
      if (this.seenKeys.has(key)) return { status: 200, body: '{"duplicate":true}' };
      this.seenKeys.add(key);
      for (const l of lines) {
        const id = String(l.id);
        this.ingested.set(id, [...(this.ingested.get(id) ?? []), l]);
      }
      return { status: 200, body: JSON.stringify({ accepted: lines.length }) };
    }
    if (req.method === 'POST' && req.url?.endsWith('/_bulk'))
      return { status: 200, body: JSON.stringify(this.bulk(lines)) };
    return { status: 404, body: '{"error":"no such route"}' };
  }

  private bulk(lines: Record<string, unknown>[]): unknown {
    const items: unknown[] = [];
    let errors = false;
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const action = lines[i]!.create as { _index: string; _id: string } | undefined;
      if (!action) {
        items.push({ index: { status: 400, error: { type: 'illegal_argument_exception', reason: 'create only' } } });
        errors = true;
        continue;
      }
      const fault = this.itemFaults.get(action._id);
      const key = `${action._index}/${action._id}`;
      let status = 201;
      let error: unknown;
      if (fault) {
        this.itemFaults.delete(action._id);
        status = fault.status;
        error = { type: fault.type, reason: 'scripted' };
      } else if (this.documents.has(key)) {
        status = 409;
        this.conflicts++;
        error = {
          type: 'version_conflict_engine_exception',
          reason: `[${action._id}]: version conflict, document already exists`,
        };
      } else this.documents.set(key, lines[i + 1]!);
      if (status >= 300) errors = true;
      items.push({
        create: { _index: action._index, _id: action._id, status, ...(error ? { error } : { result: 'created' }) },
      });
    }
    return { took: 1, errors, items };
  }
}
