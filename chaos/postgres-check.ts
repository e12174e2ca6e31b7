import pg from 'pg';

/** Where the chaos fleet's PostgreSQL sink writes: the real PostgreSQL of CI (.ci/run), a table per run. */
export const CHAOS_POSTGRES_URL =
  process.env.CHAOS_POSTGRES_URL ?? process.env.FANIN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PostgresSinkCheck {
  readonly table: string;
  readonly rows: number;
  /** Ids the file sink (or its secondary) has and the idempotent PostgreSQL sink lacks: lost there. */
  readonly missing: number;
  /** Ids in PostgreSQL that the file sink never saw. */
  readonly extra: number;
  readonly missingSamples: readonly string[];
}

/**
 * Issue 7: with the idempotent sink in the chaos fleet, every event id the file sink received must be in PostgreSQL
 * exactly once (the primary key makes "once" structural; "every" is what this checks), and nothing else.
 */
export async function checkPostgresSink(table: string, fileSinkIds: Iterable<string>): Promise<PostgresSinkCheck> {
  const client = new pg.Client({ connectionString: CHAOS_POSTGRES_URL });
  await client.connect();
  try {
    const result = await client.query<{ id: string }>(`SELECT id FROM public.${table}`);
    const inPostgres = new Set(result.rows.map((r) => r.id));
    const inFiles = new Set(fileSinkIds);
    const missing = [...inFiles].filter((id) => !inPostgres.has(id));
    const extra = [...inPostgres].filter((id) => !inFiles.has(id)).length;
    return { table, rows: result.rows.length, missing: missing.length, extra, missingSamples: missing.slice(0, 10) };
  } finally {
    await client.end();
  }
}

export async function dropPostgresTable(table: string): Promise<void> {
  const client = new pg.Client({ connectionString: CHAOS_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS public.${table}`);
  } finally {
    await client.end();
  }
}
