import { z } from 'zod';
import { bool, positiveInt, setting } from '../../shared/config/setting-spec.js';

/** The uploader.httpSink.* block: the HTTP sink's settings, and the options a named http sink takes without the prefix. */
export const httpSinkSettings = {
  httpSinkUrl: setting(
    'uploader.httpSink.url',
    z.string(),
    '',
    'Endpoint of the HTTP sink: NDJSON POST target, or the Elasticsearch/OpenSearch base URL (…/_bulk is appended) in bulk mode.',
  ),
  httpSinkMode: setting(
    'uploader.httpSink.mode',
    z.enum(['ndjson', 'bulk']),
    'ndjson',
    'ndjson: one POST per processed batch with an Idempotency-Key; bulk: the _bulk API with create and _id = event id.',
  ),
  httpSinkIndex: setting(
    'uploader.httpSink.index',
    z.string().min(1),
    'fanin-%Y.%m.%d',
    'Bulk mode: index name, a strftime pattern over the UTC receipt time.',
  ),
  httpSinkAuthorization: setting(
    'uploader.httpSink.authorization',
    z.string(),
    '',
    'Value of the Authorization header ("Bearer …", "Basic …", "ApiKey …"); empty: none.',
  ),
  httpSinkTimeoutMs: setting(
    'uploader.httpSink.timeoutMs',
    positiveInt,
    10_000,
    'Limit of one request, response included.',
  ),
  httpSinkCompress: setting('uploader.httpSink.compress', bool, false, 'gzip request bodies (Content-Encoding: gzip).'),
  httpSinkConcurrency: setting(
    'uploader.httpSink.concurrency',
    positiveInt,
    4,
    'Requests of one write in flight at once.',
  ),
} as const;
