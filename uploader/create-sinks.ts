import type { Registry } from 'prom-client';
import { ConfigError } from '../shared/config/config-error.js';
import type { Logger } from '../shared/logger.js';
import type { Sink } from './sink.js';
import type { SinkPlan } from './sink-plan.js';
import { sinkPlugin, sinkTypes } from './sink-registry.js';

/**
 * Validates every sink's options first (pure), then builds the sinks, so a configuration error in the second sink
 * never leaves the first one running (the forward sink starts heartbeats when built).
 */
export async function createSinks(
  plans: readonly SinkPlan[],
  uploaderId: string,
  registry: Registry,
  log: Logger,
): Promise<Sink[]> {
  const builders = sinkBuilders(plans, uploaderId, registry, log);
  const sinks: Sink[] = [];
  for (const build of builders) sinks.push(await build());
  return sinks;
}

/** The validation half of createSinks, also run by `fanin validate`: throws a ConfigError, or says how to build each sink. */
export function sinkBuilders(
  plans: readonly SinkPlan[],
  uploaderId: string,
  registry: Registry,
  log: Logger,
): (() => Promise<Sink>)[] {
  const problems: string[] = [];
  const builders: (() => Promise<Sink>)[] = [];
  const context = { uploaderId, registry, log };
  for (const plan of plans) {
    try {
      builders.push(sinkPlugin(plan.type).prepare(plan, context));
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  for (const type of sinkTypes) {
    const ofType = plans.filter((p) => p.type === type);
    if (ofType.length > 0) problems.push(...(sinkPlugin(type).checkPlans?.(ofType) ?? []));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return builders;
}
