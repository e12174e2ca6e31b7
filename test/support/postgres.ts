/** The real PostgreSQL of CI: 127.0.0.1:5432, trust authentication, database `test` (see .ci/run). */
export const POSTGRES_URL = process.env.FANIN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
