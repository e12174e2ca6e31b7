import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { Logger } from '../../shared/logger.js';
import { decodeBatches } from '../decoded-events.js';
import { PermanentSinkError, type Sink, type SinkWriteResult } from '../sink.js';
import { bulkBody, idempotencyKey, ndjsonBody, readBulkResponse } from './http-payloads.js';
import type { HttpSinkOptions } from './http-sink-config.js';
import { httpSinkMetrics, type HttpSinkMetrics } from './http-sink-metrics.js';
import type { Disposition } from '../../shared/errors/disposition.js';

const gzip = promisify(gzipCallback);
/** Batches the sink remembers as accepted, so a retried write does not send them again. */
const REMEMBERED_BATCHES = 65_536;

/** A failure the uploader retries (429, 5xx, 408, 409 on the NDJSON endpoint, no answer). */
export class HttpSinkRetryableError extends Error {
  override readonly name = 'HttpSinkRetryableError';
  readonly code = 'HTTP_SINK_RETRYABLE';
  readonly disposition: Disposition = 'retry';
}

interface BatchResult {
  written: number;
  rejected: number;
  receivedAt: number[];
}

/**
 * Processed batches as HTTP requests, one per batch (so a batch's Idempotency-Key is the same however the uploader
 * groups deliveries), up to `concurrency` at once. NDJSON mode POSTs the file sink's lines; bulk mode speaks the
 * Elasticsearch/OpenSearch `_bulk` API with `create` and `_id` = event id, where a 409 means "already there".
 * Retries only what can succeed later (429, 5xx, no answer); any other 4xx is a PermanentSinkError, and the
 * uploader dead-letters that batch alone. A write resolves only after every request got its 2xx.
 */
export class HttpSink implements Sink {
  readonly name: string;
  private readonly metrics: HttpSinkMetrics;
  private readonly accepted = new Map<string, true>();

  constructor(
    private readonly options: HttpSinkOptions,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.name = options.name;
    this.metrics = httpSinkMetrics(registry);
  }

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    const results: (BatchResult | Error)[] = new Array<BatchResult | Error>(batches.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < batches.length; i = next++) {
        try {
          results[i] = await this.send(batches[i]!);
        } catch (err) {
          results[i] = err as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, batches.length) }, worker));
    const failures = results.filter((r): r is Error => r instanceof Error);
    if (failures.length > 0) {
      // A permanent failure wins: the uploader then writes the batches one by one and dead-letters only the bad one.
      const first = failures.find((f) => f instanceof PermanentSinkError) ?? failures[0]!;
      const summary = `${failures.length} of ${batches.length} batches not accepted by ${this.options.endpoint}: ${first.message}`;
      throw first instanceof PermanentSinkError ? new PermanentSinkError(summary) : new HttpSinkRetryableError(summary);
    }
    const ok = results as BatchResult[];
    return {
      written: ok.reduce((n, r) => n + r.written, 0),
      rejected: ok.reduce((n, r) => n + r.rejected, 0),
      receivedAt: ok.flatMap((r) => r.receivedAt),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async send(batch: ProcessedBatch): Promise<BatchResult> {
    const { events, rejected } = decodeBatches([batch]);
    const receivedAt = events.map((e) => e.envelope.received_at);
    const key = idempotencyKey(batch.ids);
    const bulk = this.options.mode === 'bulk';
    if (bulk && rejected.length > 0) {
      this.log.error(
        {
          sink: this.name,
          ids: rejected.slice(0, 5).map((r) => r.id),
          count: rejected.length,
          reason: rejected[0]!.reason,
        },
        'bodies that are not events cannot be indexed; counted as rejected',
      );
    }
    const result = { written: events.length, rejected: rejected.length, receivedAt };
    if (this.accepted.has(key)) {
      this.metrics.batchesSkipped.inc({ sink: this.name });
      return result;
    }
    if (events.length === 0 && (bulk || rejected.length === 0)) return result;
    const text = bulk ? bulkBody(events, this.options.index) : ndjsonBody(events, rejected);
    const body = this.options.compress ? await gzip(text) : Buffer.from(text);
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      'idempotency-key': key,
      'x-fanin-events': String(events.length),
    };
    if (this.options.compress) headers['content-encoding'] = 'gzip';
    if (this.options.authorization) headers.authorization = this.options.authorization;
    let res: Response;
    let answer: string;
    try {
      res = await fetch(this.options.endpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      answer = await res.text();
    } catch (err) {
      this.metrics.requests.inc({ sink: this.name, result: 'error' });
      throw new HttpSinkRetryableError(`no answer: ${(err as Error).message}`);
    }
    this.check(res.status, answer);
    if (bulk) this.checkBulk(answer, events.length);
    this.metrics.requests.inc({ sink: this.name, result: 'ok' });
    this.remember(key);
    return result;
  }

  private check(status: number, answer: string): void {
    if (status >= 200 && status < 300) return;
    const detail = `HTTP ${status}: ${answer.slice(0, 200)}`;
    if (status === 429 || status >= 500 || status === 408 || status === 409) {
      this.metrics.requests.inc({ sink: this.name, result: 'retry' });
      throw new HttpSinkRetryableError(detail);
    }
    this.metrics.requests.inc({ sink: this.name, result: 'permanent' });
    throw new PermanentSinkError(
      status >= 300 && status < 400 ? `${detail} (a redirect: set the final address as the url)` : detail,
    );
  }

  private checkBulk(answer: string, documents: number): void {
    let outcome;
    try {
      outcome = readBulkResponse(answer, documents);
    } catch (err) {
      this.metrics.requests.inc({ sink: this.name, result: 'retry' });
      throw new HttpSinkRetryableError(`unreadable _bulk answer: ${(err as Error).message}`);
    }
    if (outcome.conflicts > 0) this.metrics.bulkConflicts.inc({ sink: this.name }, outcome.conflicts);
    if (outcome.permanent > 0) {
      this.metrics.requests.inc({ sink: this.name, result: 'permanent' });
      throw new PermanentSinkError(
        `_bulk refused ${outcome.permanent} of ${documents} documents: ${outcome.firstError}`,
      );
    }
    if (outcome.retryable > 0) {
      this.metrics.requests.inc({ sink: this.name, result: 'retry' });
      throw new HttpSinkRetryableError(
        `_bulk could not take ${outcome.retryable} of ${documents} documents now: ${outcome.firstError}`,
      );
    }
  }

  private remember(key: string): void {
    this.accepted.set(key, true);
    if (this.accepted.size > REMEMBERED_BATCHES) this.accepted.delete(this.accepted.keys().next().value!);
  }
}
