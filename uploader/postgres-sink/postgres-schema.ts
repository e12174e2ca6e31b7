import type { PoolClient } from 'pg';
import { EVENT_COLUMNS } from './postgres-rows.js';

/**
 * The events table's schema as versioned migrations, recorded in `<schema>.fanin_schema_migrations` (one row per
 * table and version), applied under a transaction-scoped advisory lock so uploaders starting together do not race.
 * Identifiers are validated by the settings (lower-case, digits, _), and quoted anyway.
 */
export interface TableRef {
  readonly schema: string;
  readonly table: string;
  readonly partitioned: boolean;
}

export const MIGRATIONS_TABLE = 'fanin_schema_migrations';

const q = (ident: string) => `"${ident}"`;
export const qualified = (ref: Pick<TableRef, 'schema'>, table: string) => `${q(ref.schema)}.${q(table)}`;
export const rejectedTable = (ref: TableRef) => `${ref.table}_rejected`;
export const partitionTable = (ref: TableRef, day: string) => `${ref.table}_p${day.replaceAll('-', '')}`;
const lockKey = (ref: TableRef) => `fanin:${ref.schema}.${ref.table}`;

interface Migration {
  readonly version: number;
  readonly description: string;
  statements(ref: TableRef): string[];
}

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description:
      'events table (plain, or partitioned by received_day), indexes on received_at and (tag, received_at), rejected table',
    statements: (ref) => {
      const t = qualified(ref, ref.table);
      const columns = EVENT_COLUMNS.map(([name, type]) => {
        const notNull = ['id', 'received_day', 'received_at', 'tag', 'receiver', 'format'].includes(name)
          ? ' NOT NULL'
          : '';
        return `${q(name)} ${type}${notNull}`;
      });
      const key = ref.partitioned ? '("id", "received_day")' : '("id")';
      return [
        ...(ref.schema === 'public' ? [] : [`CREATE SCHEMA IF NOT EXISTS ${q(ref.schema)}`]),
        `CREATE TABLE IF NOT EXISTS ${t} (${columns.join(', ')}, CONSTRAINT ${q(`${ref.table}_pkey`)} PRIMARY KEY ${key})` +
          (ref.partitioned ? ' PARTITION BY RANGE ("received_day")' : ''),
        `CREATE INDEX IF NOT EXISTS ${q(`${ref.table}_received_at_idx`)} ON ${t} ("received_at")`,
        `CREATE INDEX IF NOT EXISTS ${q(`${ref.table}_tag_idx`)} ON ${t} ("tag", "received_at")`,
        `CREATE TABLE IF NOT EXISTS ${qualified(ref, rejectedTable(ref))} ("id" text NOT NULL, "reason" text NOT NULL, "body" bytea NOT NULL,` +
          ' "rejected_at" timestamptz NOT NULL DEFAULT now())',
      ];
    },
  },
];

/**
 * Brings the table to the latest version and checks that its layout matches the configuration (partitioning is
 * fixed when the table is created). Returns the versions applied now.
 */
export async function migrate(client: PoolClient, ref: TableRef, recordIndex: boolean): Promise<number[]> {
  const encoding = (await client.query<{ server_encoding: string }>('SHOW server_encoding')).rows[0]?.server_encoding;
  if (encoding !== 'UTF8')
    throw new Error(`database encoding is ${encoding}, not UTF8: event text could not be stored`);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(ref)]);
    if (ref.schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(ref.schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(ref, MIGRATIONS_TABLE)} ("table_name" text NOT NULL, "version" integer NOT NULL,` +
        ' "description" text NOT NULL, "applied_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("table_name", "version"))',
    );
    const done = new Set(
      (
        await client.query<{ version: number }>(
          `SELECT "version" FROM ${qualified(ref, MIGRATIONS_TABLE)} WHERE "table_name" = $1`,
          [ref.table],
        )
      ).rows.map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const sql of m.statements(ref)) await client.query(sql);
      await client.query(
        `INSERT INTO ${qualified(ref, MIGRATIONS_TABLE)} ("table_name", "version", "description") VALUES ($1, $2, $3)`,
        [ref.table, m.version, m.description],
      );
      applied.push(m.version);
    }
    const kind = (
      await client.query<{ relkind: string }>(
        'SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
        [ref.schema, ref.table],
      )
    ).rows[0]?.relkind;
    if (kind === undefined)
      throw new Error(`table ${ref.schema}.${ref.table} is missing although its migrations are recorded`);
    if ((kind === 'p') !== ref.partitioned) {
      throw new Error(
        `table ${ref.schema}.${ref.table} is ${kind === 'p' ? '' : 'not '}partitioned but partitioning is ${ref.partitioned ? 'daily' : 'none'}: ` +
          'change the setting back, or move the table away',
      );
    }
    if (recordIndex) {
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${q(`${ref.table}_record_idx`)} ON ${qualified(ref, ref.table)} USING gin ("record" jsonb_path_ops)`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}

/** Creates the daily partitions of `days` (YYYY-MM-DD, UTC) that do not exist yet. */
export async function ensurePartitions(client: PoolClient, ref: TableRef, days: readonly string[]): Promise<string[]> {
  if (days.length === 0) return [];
  const created: string[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(ref)]);
    const existing = new Set(await listPartitions(client, ref));
    for (const day of days) {
      const name = partitionTable(ref, day);
      if (existing.has(name)) continue;
      const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      await client.query(
        `CREATE TABLE ${qualified(ref, name)} PARTITION OF ${qualified(ref, ref.table)} FOR VALUES FROM ('${day}') TO ('${next}')`,
      );
      created.push(name);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return created;
}

/** Drops the partitions of days before `keepFrom` (YYYY-MM-DD). Returns the tables dropped. */
export async function dropPartitionsBefore(client: PoolClient, ref: TableRef, keepFrom: string): Promise<string[]> {
  const dropped: string[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(ref)]);
    const prefix = `${ref.table}_p`;
    const cutoff = keepFrom.replaceAll('-', '');
    for (const name of await listPartitions(client, ref)) {
      const day = name.slice(prefix.length);
      if (!name.startsWith(prefix) || !/^\d{8}$/.test(day) || day >= cutoff) continue;
      await client.query(`DROP TABLE ${qualified(ref, name)}`);
      dropped.push(name);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return dropped;
}

export async function listPartitions(client: PoolClient, ref: TableRef): Promise<string[]> {
  const res = await client.query<{ relname: string }>(
    'SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent ' +
      'JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = $2 ORDER BY c.relname',
    [ref.schema, ref.table],
  );
  return res.rows.map((r) => r.relname);
}
