import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { encodeBody, type ProcessedBatch } from '../../../shared/batch-codec.js';
import { classifyPostgresError } from '../../../uploader/postgres-sink/postgres-errors.js';
import { buildEventRows, eventTime, json } from '../../../uploader/postgres-sink/postgres-rows.js';
import type { PostgresSinkOptions } from '../../../uploader/postgres-sink/postgres-sink-config.js';
import { PostgresSink } from '../../../uploader/postgres-sink/postgres-sink.js';
import { PermanentSinkError } from '../../../uploader/sink.js';
import { metric } from '../../support/forward-fixtures.js';
import { POSTGRES_URL } from '../../support/postgres.js';
import { forwardEvent, processedBatch, syslogEvent } from '../../../testkit/sink-fixtures.js';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;

describe('value rules for PostgreSQL (pure)', () => {
  it('replaces U+0000 and lone surrogates, which PostgreSQL refuses, and counts the events', () => {
    const e = syslogEvent(1, Date.now(), {
      message: 'a\u0000b',
      record: { 'k\u0000': ['x\u0000', 'ok'], s: 'lone \ud800 half' },
    });
    const rows = buildEventRows([{ id: 'n-1', envelope: e }], [], false);
    assert.equal(rows.sanitized, 1);
    const message = rows.columns[9]![0]!;
    assert.equal(message, 'a\uFFFDb');
    assert.deepEqual(JSON.parse(rows.columns[17]![0]!), { 'k\uFFFD': ['x\uFFFD', 'ok'], s: 'lone \uFFFD half' });
    assert.equal(
      json({ path: 'C:\\u0000dir' }, { n: 0 }),
      JSON.stringify({ path: 'C:\\u0000dir' }),
      'a literal backslash-u is kept',
    );
  });

  it('passes event times PostgreSQL takes and NULLs the rest', () => {
    assert.equal(eventTime('2026-03-01T10:20:30.123456Z'), '2026-03-01T10:20:30.123456Z');
    assert.equal(eventTime('2026-03-01T10:20:30+01:00'), '2026-03-01T10:20:30+01:00');
    assert.equal(eventTime('0000-01-01T00:00:00Z'), null);
    assert.equal(eventTime('not a time'), null);
    assert.equal(eventTime(null), null);
  });

  it('classifies errors: data and limits are permanent, the rest is retried', () => {
    assert.equal(classifyPostgresError({ code: '22021' }), 'permanent');
    assert.equal(classifyPostgresError({ code: '23505' }), 'permanent');
    assert.equal(classifyPostgresError({ code: '54000' }), 'permanent');
    assert.equal(classifyPostgresError({ code: '42P01' }), 'schema');
    assert.equal(classifyPostgresError({ code: '23514' }), 'schema');
    assert.equal(classifyPostgresError({ code: '57P01' }), 'retry');
    assert.equal(classifyPostgresError({ code: '08006' }), 'retry');
    assert.equal(
      classifyPostgresError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      'retry',
    );
  });
});

describe('PostgreSQL sink against the real PostgreSQL', () => {
  let admin: pg.Client;
  const tables: string[] = [];
  const sinks: PostgresSink[] = [];
  const options = (over: Partial<PostgresSinkOptions> = {}): PostgresSinkOptions => {
    const table = `t_${randomBytes(5).toString('hex')}`;
    tables.push(table);
    return {
      name: 'pg',
      url: POSTGRES_URL,
      schema: 'public',
      table,
      partitioning: 'none',
      retentionDays: 0,
      recordIndex: false,
      poolSize: 2,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 10_000,
      applicationName: 'fanin test',
      ...over,
    };
  };
  const open = (o: PostgresSinkOptions, registry = new Registry()) => {
    const s = new PostgresSink(o, registry, log);
    sinks.push(s);
    return s;
  };
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await admin.query<{ n: string }>(sql, params)).rows[0]!.n);

  before(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  });
  after(async () => {
    for (const s of sinks) await s.close().catch(() => undefined);
    for (const t of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${t}" CASCADE`);
      await admin.query(`DROP TABLE IF EXISTS "${t}_rejected"`);
      await admin.query('DELETE FROM fanin_schema_migrations WHERE table_name = $1', [t]).catch(() => undefined);
    }
    await admin.end();
  });

  it('creates its table by a versioned migration, once', async () => {
    const o = options();
    await open(o).write([processedBatch('m', 3, Date.now())]);
    const versions = await admin.query<{ version: number }>(
      'SELECT version FROM fanin_schema_migrations WHERE table_name = $1',
      [o.table],
    );
    assert.deepEqual(
      versions.rows.map((r) => r.version),
      [1],
    );
    const indexes = (
      await admin.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1', [
        o.table,
      ])
    ).rows.map((r) => r.indexname);
    assert.deepEqual(indexes, [`${o.table}_pkey`, `${o.table}_received_at_idx`, `${o.table}_tag_idx`]);
    await open({ ...o }).write([processedBatch('m2', 1, Date.now())]);
    assert.equal(await count('SELECT count(*) AS n FROM fanin_schema_migrations WHERE table_name = $1', [o.table]), 1);
  });

  it('adds nothing for a replayed batch (ON CONFLICT (id) DO NOTHING), and counts the conflicts', async () => {
    const o = options();
    const registry = new Registry();
    const sink = open(o, registry);
    const batch = processedBatch('replay', 200, Date.now());
    const first = await sink.write([batch]);
    const second = await sink.write([batch, batch]);
    assert.equal(first.written, 200);
    assert.equal(second.written, 200, 'a replay is written (acked) too: the rows are there');
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}"`), 200);
    assert.equal(await metric(registry, 'fanin_uploader_postgres_rows_inserted_total', { sink: 'pg' }), 200);
    assert.equal(await metric(registry, 'fanin_uploader_postgres_conflicts_total', { sink: 'pg' }), 400);
  });

  it('stores the event fields as columns and records as queryable jsonb', async () => {
    const o = options();
    const now = Date.now();
    const bodies: [string, Uint8Array][] = [
      ['s-1', encodeBody(syslogEvent(7, now))],
      ['f-1', encodeBody(forwardEvent(3, now, { user: { id: 5, plan: 'free' } }))],
      ['f-2', encodeBody(forwardEvent(4, now))],
      ['n-1', encodeBody(syslogEvent(8, now, { message: 'nul\u0000inside', hostname: 'h\u0000' }))],
      ['bad-1', encodeBody({ not: 'an envelope' })],
    ];
    const batch: ProcessedBatch = {
      sourceBatchId: 'cols',
      ids: bodies.map(([id]) => id),
      bodies: bodies.map(([, b]) => b),
    };
    const r = await open(o).write([batch]);
    assert.deepEqual([r.written, r.rejected], [4, 1]);
    const row = (await admin.query(`SELECT * FROM "${o.table}" WHERE id = 's-1'`)).rows[0] as Record<string, unknown>;
    assert.equal(row.tag, 'syslog.auth.info');
    assert.equal(row.facility, 'auth');
    assert.equal(row.app_name, 'sshd');
    assert.ok(row.time instanceof Date && row.received_at instanceof Date);
    assert.equal(row.received_at.getTime(), now);
    assert.deepEqual((row.structured_data as Record<string, unknown>)['meta@48577'], { sequenceId: '7' });
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}" WHERE record @> '{"user": {"plan": "pro"}}'`), 1);
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}" WHERE (record->'user'->>'id')::int = 5`), 1);
    assert.equal(
      await count(`SELECT count(*) AS n FROM "${o.table}" WHERE structured_data->'meta@48577'->>'sequenceId' = '8'`),
      1,
    );
    const nul = (
      await admin.query<{ message: string; hostname: string }>(
        `SELECT message, hostname FROM "${o.table}" WHERE id = 'n-1'`,
      )
    ).rows[0]!;
    assert.deepEqual(nul, { message: 'nul\uFFFDinside', hostname: 'h\uFFFD' });
    const rejected = (await admin.query<{ id: string; reason: string }>(`SELECT id, reason FROM "${o.table}_rejected"`))
      .rows;
    assert.deepEqual(rejected, [{ id: 'bad-1', reason: 'not an event envelope' }]);
  });

  it('creates daily partitions as needed, dedupes within a day, and retention drops old partitions', async () => {
    const o = options({ partitioning: 'daily', retentionDays: 7, maintenanceEveryMs: 0 });
    const now = Date.now();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const sink = open(o);
    const batches = [
      processedBatch('today', 20, now),
      processedBatch('d10', 20, now - 10 * DAY),
      processedBatch('d40', 20, now - 40 * DAY),
    ];
    await sink.write(batches);
    await sink.write(batches);
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}"`), 60, 'replay absorbed within each partition');
    const partitions = async () =>
      (
        await admin.query<{ relname: string }>(
          'SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY 1',
          [o.table],
        )
      ).rows.map((r) => r.relname);
    const before = await partitions();
    for (const d of [now, now - 10 * DAY, now - 40 * DAY])
      assert.ok(before.includes(`${o.table}_p${day(d)}`), `${day(d)} in ${before.join(' ')}`);
    assert.equal(
      (await admin.query<{ relkind: string }>('SELECT relkind FROM pg_class WHERE relname = $1', [o.table])).rows[0]!
        .relkind,
      'p',
    );

    const { dropped } = await sink.maintain(now);
    assert.deepEqual(
      dropped.sort(),
      [`${o.table}_p${day(now - 40 * DAY)}`, `${o.table}_p${day(now - 10 * DAY)}`].sort(),
    );
    const afterDrop = await partitions();
    assert.ok(afterDrop.includes(`${o.table}_p${day(now)}`));
    assert.ok(afterDrop.includes(`${o.table}_p${day(now + DAY)}`), 'tomorrow is made ahead');
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}"`), 20);

    // Events of a dropped day arriving later (a long replay) get their partition back, then lose it at the next run.
    await sink.write([processedBatch('d10-late', 2, now - 10 * DAY)]);
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}"`), 22);
  });

  it('refuses, without dead-lettering, a table whose layout differs from the setting', async () => {
    const o = options();
    await open(o).write([processedBatch('layout', 1, Date.now())]);
    await assert.rejects(
      open({ ...o, partitioning: 'daily' }).write([processedBatch('layout2', 1, Date.now())]),
      (err: Error) =>
        !(err instanceof PermanentSinkError) && /not partitioned but partitioning is daily/.test(err.message),
    );
  });

  it('retries what retrying can fix and dead-letters what it cannot', async () => {
    const down = open({ ...options(), url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 500 });
    await assert.rejects(
      down.write([processedBatch('down', 1, Date.now())]),
      (err: Error) => !(err instanceof PermanentSinkError),
    );

    const o = options();
    const sink = open(o);
    await sink.write([processedBatch('ok', 1, Date.now())]);
    // A tag too long for its btree index entry: SQLSTATE 54000, which no retry can fix.
    const huge = randomBytes(6000).toString('base64');
    const bad = {
      sourceBatchId: 'huge',
      ids: ['huge-1'],
      bodies: [encodeBody(syslogEvent(1, Date.now(), { tag: huge }))],
    };
    await assert.rejects(
      sink.write([bad]),
      (err: Error) => err instanceof PermanentSinkError && /54000/.test(err.message),
    );
    // A unique index the operator added: 23505 is a data conflict, not a replay.
    await admin.query(`CREATE UNIQUE INDEX ON "${o.table}" (message)`);
    const dup = {
      sourceBatchId: 'dup',
      ids: ['dup-1', 'dup-2'],
      bodies: [1, 2].map(() => encodeBody(syslogEvent(1, Date.now(), { message: 'same' }))),
    };
    await assert.rejects(
      sink.write([dup]),
      (err: Error) => err instanceof PermanentSinkError && /23505/.test(err.message),
    );
  });

  it('recreates its table when it was dropped under it', async () => {
    const o = options();
    const sink = open(o);
    await sink.write([processedBatch('x', 2, Date.now())]);
    await admin.query(`DROP TABLE "${o.table}"`);
    await admin.query('DELETE FROM fanin_schema_migrations WHERE table_name = $1', [o.table]);
    await assert.rejects(
      sink.write([processedBatch('y', 2, Date.now())]),
      (err: Error) => !(err instanceof PermanentSinkError),
    );
    await sink.write([processedBatch('y', 2, Date.now())]);
    assert.equal(await count(`SELECT count(*) AS n FROM "${o.table}"`), 2);
  });
});
