import { z } from 'zod';
import { bool, nonNegativeInt, positiveInt, sqlIdentifier, setting } from '../../shared/config/setting-spec.js';

/** The uploader.postgresSink.* block: the PostgreSQL sink's settings, and the options a named postgres sink takes without the prefix. */
export const postgresSinkSettings = {
  postgresSinkUrl: setting(
    'uploader.postgresSink.url',
    z.string().min(1),
    'postgres://postgres@127.0.0.1:5432/fanin',
    'PostgreSQL connection URL (libpq style; PG* environment variables fill what it leaves out).',
  ),
  postgresSinkSchema: setting('uploader.postgresSink.schema', sqlIdentifier, 'public', 'Schema of the events table.'),
  postgresSinkTable: setting(
    'uploader.postgresSink.table',
    sqlIdentifier,
    'fanin_events',
    'Events table, created with its indexes by a versioned migration if absent (and <table>_rejected for undecodable bodies).',
  ),
  postgresSinkPartitioning: setting(
    'uploader.postgresSink.partitioning',
    z.enum(['none', 'daily']),
    'none',
    'daily: declarative partitions by the UTC day of receipt, primary key (id, received_day); fixed when the table is created.',
  ),
  postgresSinkRetentionDays: setting(
    'uploader.postgresSink.retentionDays',
    nonNegativeInt,
    0,
    'With daily partitions: drop the partitions of days more than this many days before today (UTC), hourly; 0 keeps everything.',
  ),
  postgresSinkRecordIndex: setting(
    'uploader.postgresSink.recordIndex',
    bool,
    false,
    'Create a GIN index (jsonb_path_ops) on record for @> queries; costs write throughput.',
  ),
  postgresSinkPoolSize: setting(
    'uploader.postgresSink.poolSize',
    positiveInt,
    2,
    'Connections of this sink (writes are serial; one more for maintenance).',
  ),
  postgresSinkConnectTimeoutMs: setting(
    'uploader.postgresSink.connectTimeoutMs',
    positiveInt,
    5000,
    'Limit of one connection attempt.',
  ),
  postgresSinkStatementTimeoutMs: setting(
    'uploader.postgresSink.statementTimeoutMs',
    positiveInt,
    30_000,
    "statement_timeout of the sink's sessions: a write that takes longer fails and is retried (idempotent by id).",
  ),
} as const;
