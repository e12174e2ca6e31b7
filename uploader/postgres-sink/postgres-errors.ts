/**
 * What to do with a failed write, by SQLSTATE. Only errors in the data itself are permanent (the batch is
 * dead-lettered); everything else (connection lost, server shutting down, lock or serialization failures, missing
 * privileges, a full disk) is retried with backoff by the uploader while the batch stays in its queue.
 *
 * - permanent: class 22 (data exception: a value PostgreSQL cannot store), class 23 but check_violation (an
 *   integrity constraint the operator added), class 54 (program limit: an index row or a jsonb value too large).
 * - schema: the table, schema or a partition is missing (dropped under us): run the migrations again, then retry.
 * - retry: the rest, and errors without a SQLSTATE (sockets, timeouts).
 */
export type PostgresErrorAction = 'permanent' | 'schema' | 'retry';

const SCHEMA_CODES = new Set(['42P01', '3F000', '23514']);

export function classifyPostgresError(err: unknown): PostgresErrorAction {
  const code = sqlState(err);
  if (code === null) return 'retry';
  if (SCHEMA_CODES.has(code)) return 'schema';
  const cls = code.slice(0, 2);
  if (cls === '22' || cls === '23' || cls === '54') return 'permanent';
  return 'retry';
}

export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}
