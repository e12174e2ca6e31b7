import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { encodeBody } from '../../../shared/batch-codec.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { idempotencyKey, readBulkResponse } from '../../../uploader/http-sink/http-payloads.js';
import { httpSinkOptionsFromPlan } from '../../../uploader/http-sink/http-sink-config.js';
import { HttpSink, HttpSinkRetryableError } from '../../../uploader/http-sink/http-sink.js';
import { PermanentSinkError } from '../../../uploader/sink.js';
import { resolveSinkPlans } from '../../../uploader/sink-plan.js';
import { StdoutSink } from '../../../uploader/stdout-sink/stdout-sink.js';
import { metric } from '../../support/forward-fixtures.js';
import { SinkEmulator } from '../../support/http-sink-emulator.js';
import { processedBatch } from '../../../testkit/sink-fixtures.js';

const log = pino({ level: 'silent' });

function httpSink(definition: Record<string, unknown>, registry = new Registry()): HttpSink {
  const config = loadConfig({
    env: { FANIN_SINKS: 'web', FANIN_SINK_DEFINITIONS: JSON.stringify({ web: { type: 'http', ...definition } }) },
  });
  return new HttpSink(httpSinkOptionsFromPlan(resolveSinkPlans(config)[0]!), registry, log);
}

describe('HTTP sink payloads (pure)', () => {
  it('derives the Idempotency-Key from the event ids alone', () => {
    assert.equal(idempotencyKey(['a-1', 'b-1']), idempotencyKey(['a-1', 'b-1']));
    assert.notEqual(idempotencyKey(['a-1', 'b-1']), idempotencyKey(['a-1b-1']));
    assert.match(idempotencyKey(['x']), /^[0-9a-f]{32}$/);
  });

  it('reads _bulk answers: 409 on create is success, 429/5xx retryable, other 4xx permanent', () => {
    const items = [201, 409, 429, 503, 400].map((status) => ({
      create: { status, error: status > 300 ? { type: 't', reason: 'r' } : undefined },
    }));
    const o = readBulkResponse(JSON.stringify({ errors: true, items }), 5);
    assert.deepEqual([o.created, o.conflicts, o.retryable, o.permanent], [1, 1, 2, 1]);
    assert.throws(() => readBulkResponse('{"items": []}', 2), /0 items for 2/);
  });
});

describe('HTTP sink against a loopback emulator', () => {
  const emu = new SinkEmulator();
  before(() => emu.start());
  after(() => emu.close());
  beforeEach(() => {
    emu.script.length = 0;
  });

  it('POSTs one NDJSON request per batch, with its Idempotency-Key and the ids in the lines', async () => {
    const sink = httpSink({ url: emu.url('/ingest') });
    const batches = [processedBatch('n1', 5, Date.now()), processedBatch('n2', 3, Date.now())];
    const r = await sink.write(batches);
    assert.equal(r.written, 8);
    assert.deepEqual(emu.keys.slice(-2).sort(), batches.map((b) => idempotencyKey(b.ids)).sort());
    for (const id of batches.flatMap((b) => b.ids)) assert.equal(emu.ingested.get(id)?.length, 1);
    const h = emu.headers.at(-1)!;
    assert.equal(h['content-type'], 'application/x-ndjson');
  });

  it('retries 5xx, 429, 409 and no answer with the same key, and does not resend what was accepted', async () => {
    const registry = new Registry();
    const sink = httpSink({ url: emu.url('/ingest'), concurrency: 1 }, registry);
    const a = processedBatch('r1', 2, Date.now());
    const b = processedBatch('r2', 2, Date.now());
    for (const status of [503, 429, 409]) {
      emu.script.push({ status });
      await assert.rejects(
        sink.write([a]),
        (err: Error) => err instanceof HttpSinkRetryableError && !(err instanceof PermanentSinkError),
      );
    }
    await sink.write([a]);
    const keysOfA = emu.keys.filter((k) => k === idempotencyKey(a.ids));
    assert.equal(keysOfA.length, 4, 'every attempt carried the same key');
    emu.script.push({ status: 500 });
    await assert.rejects(sink.write([b, a]));
    await sink.write([b, a]);
    assert.equal(await metric(registry, 'fanin_uploader_http_batches_skipped_total', { sink: 'web' }), 2);
    assert.equal(emu.ingested.get(b.ids[0]!)?.length, 1);

    const unreachable = httpSink({ url: 'http://127.0.0.1:1/ingest', timeoutMs: 1000 });
    await assert.rejects(unreachable.write([a]), (err: Error) => err instanceof HttpSinkRetryableError);
  });

  it('turns other 4xx answers into a PermanentSinkError (the uploader dead-letters that batch)', async () => {
    const sink = httpSink({ url: emu.url('/ingest') });
    emu.script.push({ status: 400, body: '{"error":"bad line"}' });
    await assert.rejects(
      sink.write([processedBatch('p1', 1, Date.now())]),
      (err: Error) => err instanceof PermanentSinkError && /HTTP 400/.test(err.message),
    );
    await assert.rejects(
      httpSink({ url: emu.url('/nowhere') }).write([processedBatch('p2', 1, Date.now())]),
      PermanentSinkError,
    );
  });

  it('sends gzip bodies and the Authorization header when asked', async () => {
    const sink = httpSink({ url: emu.url('/ingest'), compress: true, authorization: 'Bearer s3cret' });
    const b = processedBatch('gz', 4, Date.now());
    await sink.write([b]);
    assert.equal(emu.headers.at(-1)!['content-encoding'], 'gzip');
    assert.equal(emu.headers.at(-1)!.authorization, 'Bearer s3cret');
    assert.equal(emu.ingested.get(b.ids[3]!)?.length, 1);
  });

  it('bulk mode: create with _id = event id; a replay answers 409 everywhere and is a success', async () => {
    const registry = new Registry();
    const now = Date.UTC(2026, 10, 23, 12);
    const batch = processedBatch('bulk', 10, now);
    const r = await httpSink({ url: emu.url('/es'), mode: 'bulk' }, registry).write([batch]);
    assert.equal(r.written, 10);
    assert.ok(emu.documents.has(`fanin-2026.11.23/${batch.ids[0]!}`));
    const docs = emu.documents.size;
    const again = await httpSink({ url: emu.url('/es/'), mode: 'bulk', index: 'logs-%Y.%m' }, registry).write([batch]);
    assert.equal(again.written, 10);
    assert.equal(emu.documents.size, docs + 10, 'another index: created there');
    await httpSink({ url: emu.url('/es'), mode: 'bulk' }, registry).write([batch]);
    assert.equal(emu.documents.size, docs + 10, 'replay to the same index adds nothing');
    assert.equal(await metric(registry, 'fanin_uploader_http_bulk_conflicts_total', { sink: 'web' }), 10);
  });

  it('bulk mode: an item answered 429 is retried (its neighbours then answer 409); a mapping error is permanent', async () => {
    const sink = httpSink({ url: emu.url('/es'), mode: 'bulk' });
    const batch = processedBatch('b429', 3, Date.now());
    emu.itemFaults.set(batch.ids[1]!, { status: 429, type: 'es_rejected_execution_exception' });
    await assert.rejects(
      sink.write([batch]),
      (err: Error) => err instanceof HttpSinkRetryableError && /es_rejected_execution_exception/.test(err.message),
    );
    await sink.write([batch]);
    assert.equal([...emu.documents.keys()].filter((k) => k.includes('b429')).length, 3);

    const bad = processedBatch('b400', 2, Date.now());
    emu.itemFaults.set(bad.ids[0]!, { status: 400, type: 'mapper_parsing_exception' });
    await assert.rejects(
      sink.write([bad]),
      (err: Error) => err instanceof PermanentSinkError && /mapper_parsing_exception/.test(err.message),
    );
  });
});

describe('stdout sink', () => {
  it('writes the NDJSON lines of the file sink', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const sink = new StdoutSink('out', out);
    const b = processedBatch('so', 3, Date.now());
    const withBad = { ...b, ids: [...b.ids, 'bad-1'], bodies: [...b.bodies, encodeBody('nope')] };
    const r = await sink.write([withBad]);
    assert.deepEqual([r.written, r.rejected], [3, 1]);
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; reason?: string });
    assert.deepEqual(
      lines.map((l) => l.id),
      [...b.ids, 'bad-1'],
    );
    assert.equal(lines[3]!.reason, 'not an event envelope');
  });
});
