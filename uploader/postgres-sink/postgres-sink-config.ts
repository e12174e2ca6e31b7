import { ConfigError } from '../../shared/config/config-error.js';
import type { SinkPlan } from '../sink-plan.js';

export interface PostgresSinkOptions {
  readonly name: string;
  readonly url: string;
  readonly schema: string;
  readonly table: string;
  readonly partitioning: 'none' | 'daily';
  /** Days of partitions kept before today (UTC); 0 keeps everything. */
  readonly retentionDays: number;
  readonly recordIndex: boolean;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly applicationName: string;
  /** Partition maintenance period (hourly; 0: only when `maintain()` is called, for tests). */
  readonly maintenanceEveryMs?: number;
}

/** Validated once at start-up (fastify's way); every problem names its key. */
export function postgresSinkOptionsFromPlan(plan: SinkPlan, uploaderId: string): PostgresSinkOptions {
  const s = plan.settings;
  const problems: string[] = [];
  if (!/^postgres(ql)?:\/\//.test(s.postgresSinkUrl))
    problems.push(`${plan.keyOf('postgresSinkUrl')}: expected postgres://[user[:password]@]host[:port]/database`);
  if (s.postgresSinkRetentionDays > 0 && s.postgresSinkPartitioning !== 'daily') {
    problems.push(
      `${plan.keyOf('postgresSinkRetentionDays')}: retention drops daily partitions; set ${plan.keyOf('postgresSinkPartitioning')} to "daily"`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    name: plan.name,
    url: s.postgresSinkUrl,
    schema: s.postgresSinkSchema,
    table: s.postgresSinkTable,
    partitioning: s.postgresSinkPartitioning,
    retentionDays: s.postgresSinkRetentionDays,
    recordIndex: s.postgresSinkRecordIndex,
    poolSize: s.postgresSinkPoolSize,
    connectTimeoutMs: s.postgresSinkConnectTimeoutMs,
    statementTimeoutMs: s.postgresSinkStatementTimeoutMs,
    applicationName: `fanin uploader ${uploaderId} sink ${plan.name}`,
  });
}
