import pg from 'pg';
import type { Registry } from 'prom-client';
import type { ProcessedBatch } from '../../shared/batch-codec.js';
import type { Logger } from '../../shared/logger.js';
import { decodeBatches } from '../decoded-events.js';
import { PermanentSinkError, type Sink, type SinkWriteResult } from '../sink.js';
import { classifyPostgresError, sqlState } from './postgres-errors.js';
import { buildEventRows, EVENT_COLUMNS, type EventRows } from './postgres-rows.js';
import {
  dropPartitionsBefore,
  ensurePartitions,
  migrate,
  qualified,
  rejectedTable,
  type TableRef,
} from './postgres-schema.js';
import type { PostgresSinkOptions } from './postgres-sink-config.js';
import { postgresSinkMetrics, type PostgresSinkMetrics } from './postgres-sink-metrics.js';

const MAINTENANCE_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Events into PostgreSQL, exactly once by id: every write is ONE statement (`INSERT … SELECT * FROM unnest(…)
 * ON CONFLICT DO NOTHING`, with the rejected bodies in a data-modifying CTE of the same statement), so it commits
 * whole or not at all, and a replayed batch inserts nothing. The write resolves only after the statement's implicit
 * commit, so the uploader acks only committed events. The table is created on first use by versioned migrations;
 * with daily partitions, missing partitions are created before the insert and retention drops old ones hourly.
 */
export class PostgresSink implements Sink {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly ref: TableRef;
  private readonly insertSql: string;
  private readonly insertWithRejectedSql: string;
  private readonly metrics: PostgresSinkMetrics;
  private migrated: Promise<void> | null = null;
  private readonly knownDays = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private maintaining: Promise<void> | null = null;

  constructor(
    private readonly options: PostgresSinkOptions,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.name = options.name;
    this.ref = { schema: options.schema, table: options.table, partitioned: options.partitioning === 'daily' };
    this.metrics = postgresSinkMetrics(registry);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      application_name: options.applicationName,
      idleTimeoutMillis: 60_000,
    });
    // An idle connection that breaks emits here; without a listener it would crash the process.
    this.pool.on('error', (err) =>
      this.log.warn({ sink: this.name, err: err.message }, 'idle PostgreSQL connection failed'),
    );
    const table = qualified(this.ref, this.ref.table);
    const columns = EVENT_COLUMNS.map(([c]) => `"${c}"`).join(', ');
    const arrays = EVENT_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
    const target = this.ref.partitioned ? '("id", "received_day")' : '("id")';
    this.insertSql = `INSERT INTO ${table} (${columns}) SELECT * FROM unnest(${arrays}) ON CONFLICT ${target} DO NOTHING`;
    const n = EVENT_COLUMNS.length;
    this.insertWithRejectedSql =
      `WITH "rejected" AS (INSERT INTO ${qualified(this.ref, rejectedTable(this.ref))} ("id", "reason", "body") ` +
      `SELECT r.id, r.reason, decode(r.body, 'base64') FROM unnest($${n + 1}::text[], $${n + 2}::text[], $${n + 3}::text[]) AS r(id, reason, body)) ` +
      this.insertSql;
  }

  async write(batches: readonly ProcessedBatch[]): Promise<SinkWriteResult> {
    const { events, rejected } = decodeBatches(batches);
    const rows = buildEventRows(events, rejected, this.ref.partitioned);
    if (rows.count === 0 && rows.rejected.id.length === 0) return { written: 0, rejected: 0, receivedAt: [] };
    try {
      await this.ready();
      if (this.ref.partitioned) await this.ensureDays([...rows.days]);
      const inserted = await this.insert(rows);
      this.metrics.rowsInserted.inc({ sink: this.name }, inserted);
      if (rows.count + rows.repeated > inserted)
        this.metrics.conflicts.inc({ sink: this.name }, rows.count + rows.repeated - inserted);
      if (rows.sanitized > 0) this.metrics.sanitized.inc({ sink: this.name }, rows.sanitized);
    } catch (err) {
      throw this.failure(err);
    }
    return { written: rows.receivedAt.length, rejected: rows.rejected.id.length, receivedAt: rows.receivedAt };
  }

  /** Creates the partitions around `now` and drops those past retention (hourly, and at start). Exposed for tests. */
  async maintain(now = Date.now()): Promise<{ created: string[]; dropped: string[] }> {
    await this.ready();
    if (!this.ref.partitioned) return { created: [], dropped: [] };
    const today = dayOf(now);
    const created = await this.ensureDays([today, dayOf(now + DAY_MS)], true);
    let dropped: string[] = [];
    if (this.options.retentionDays > 0) {
      const keepFrom = dayOf(Date.parse(`${today}T00:00:00Z`) - this.options.retentionDays * DAY_MS);
      dropped = await this.withClient((c) => dropPartitionsBefore(c, this.ref, keepFrom));
      for (const name of dropped) this.knownDays.delete(dayFromPartition(name));
      if (dropped.length > 0) {
        this.metrics.partitionsDropped.inc({ sink: this.name }, dropped.length);
        this.log.info({ sink: this.name, dropped, keepFrom }, 'retention dropped old partitions');
      }
    }
    return { created, dropped };
  }

  async close(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    await this.maintaining?.catch(() => undefined);
    await this.pool.end();
  }

  private async insert(rows: EventRows): Promise<number> {
    const params: unknown[] = [...rows.columns];
    const withRejected = rows.rejected.id.length > 0;
    if (withRejected) params.push(rows.rejected.id, rows.rejected.reason, rows.rejected.body);
    const res = await this.pool.query(withRejected ? this.insertWithRejectedSql : this.insertSql, params);
    return res.rowCount ?? 0;
  }

  /** Runs the migrations once (again after a failure or when the table went missing) and starts maintenance. */
  private ready(): Promise<void> {
    this.migrated ??= this.withClient(async (c) => {
      const applied = await migrate(c, this.ref, this.options.recordIndex);
      if (applied.length > 0)
        this.log.info(
          { sink: this.name, table: `${this.ref.schema}.${this.ref.table}`, applied },
          'PostgreSQL migrations applied',
        );
    }).then(
      () => this.startMaintenance(),
      (err: unknown) => {
        this.migrated = null;
        throw err;
      },
    );
    return this.migrated;
  }

  private startMaintenance(): void {
    const every = this.options.maintenanceEveryMs ?? MAINTENANCE_EVERY_MS;
    if (this.timer || !this.ref.partitioned || every === 0) return;
    const run = () => {
      this.maintaining ??= this.maintain()
        .then(
          () => undefined,
          (err: Error) => {
            this.metrics.maintenanceFailures.inc({ sink: this.name });
            this.log.warn(
              { sink: this.name, err: err.message },
              'PostgreSQL partition maintenance failed; retried next hour',
            );
          },
        )
        .finally(() => {
          this.maintaining = null;
        });
    };
    this.timer = setInterval(run, every);
    this.timer.unref();
    run();
  }

  private async ensureDays(days: string[], check = false): Promise<string[]> {
    const missing = check ? days : days.filter((d) => !this.knownDays.has(d));
    if (missing.length === 0) return [];
    const created = await this.withClient((c) => ensurePartitions(c, this.ref, missing));
    for (const d of missing) this.knownDays.add(d);
    if (created.length > 0) {
      this.metrics.partitionsCreated.inc({ sink: this.name }, created.length);
      this.log.info({ sink: this.name, created }, 'PostgreSQL partitions created');
    }
    return created;
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      // A client whose transaction failed at the socket level is discarded rather than reused.
      client.release(broken !== undefined && sqlState(broken) === null ? broken : undefined);
    }
  }

  private failure(err: unknown): Error {
    const action = classifyPostgresError(err);
    const code = sqlState(err);
    const message = `${code ? `SQLSTATE ${code}: ` : ''}${(err as Error).message}`;
    if (action === 'permanent') return new PermanentSinkError(`PostgreSQL refused the batch: ${message}`);
    if (action === 'schema') {
      this.migrated = null;
      this.knownDays.clear();
    }
    return err instanceof Error ? err : new Error(message);
  }
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayFromPartition = (name: string) => {
  const d = name.slice(-8);
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
};
