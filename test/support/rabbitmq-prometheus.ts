import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../../testkit/services.js';

/** RabbitMQ's Prometheus plugin on the local broker (default port). */
export const RABBITMQ_METRICS_TARGET = process.env.FANIN_TEST_RABBITMQ_METRICS ?? '127.0.0.1:15692';

async function answers(): Promise<boolean> {
  try {
    return (await fetch(`http://${RABBITMQ_METRICS_TARGET}/metrics`, { signal: AbortSignal.timeout(5000) })).ok;
  } catch {
    return false;
  }
}

/**
 * Queue depths come from RabbitMQ's own rabbitmq_prometheus plugin. CI enables it (.ci/run); a developer's broker may
 * not have it yet, so enable it once (the only change made to the broker) rather than fail.
 */
export async function ensureRabbitmqPrometheus(): Promise<void> {
  if (await answers()) return;
  try {
    await promisify(execFile)('rabbitmq-plugins', ['enable', 'rabbitmq_prometheus'], { timeout: 90_000 });
  } catch (err) {
    throw new Error(
      `RabbitMQ's Prometheus endpoint (${RABBITMQ_METRICS_TARGET}) is off and could not be enabled: ${(err as Error).message}`,
      { cause: err },
    );
  }
  await waitFor(
    `RabbitMQ Prometheus endpoint on ${RABBITMQ_METRICS_TARGET}`,
    async () => ((await answers()) ? true : undefined),
    30_000,
    250,
  );
}
