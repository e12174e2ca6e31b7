import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { ConfigError } from '../shared/config/config-error.js';
import type { Logger } from '../shared/logger.js';
import { fileSinkOptionsFromPlan } from './file-sink/file-sink-config.js';
import { FileSink } from './file-sink/file-sink.js';
import { forwardSinkOptionsFromConfig } from './forward-sink/forward-sink-config.js';
import { ForwardSink } from './forward-sink/forward-sink.js';
import { httpSinkOptionsFromPlan } from './http-sink/http-sink-config.js';
import { HttpSink } from './http-sink/http-sink.js';
import { postgresSinkOptionsFromPlan } from './postgres-sink/postgres-sink-config.js';
import { PostgresSink } from './postgres-sink/postgres-sink.js';
import type { Sink } from './sink.js';
import type { SinkPlan } from './sink-plan.js';
import { StdoutSink } from './stdout-sink/stdout-sink.js';
import { syslogSinkOptionsFromSettings } from './syslog-sink/syslog-sink-config.js';
import { SyslogSink } from './syslog-sink/syslog-sink.js';

/**
 * Validates every sink's options first (pure), then builds the sinks, so a configuration error in the second sink
 * never leaves the first one running (the forward sink starts heartbeats when built).
 */
export function createSinks(plans: readonly SinkPlan[], uploaderId: string, registry: Registry, log: Logger): Sink[] {
  return sinkBuilders(plans, uploaderId, registry, log).map((build) => build());
}

/** The validation half of createSinks, also run by `fanin validate`: throws a ConfigError, or says how to build each sink. */
export function sinkBuilders(plans: readonly SinkPlan[], uploaderId: string, registry: Registry, log: Logger): (() => Sink)[] {
  const problems: string[] = [];
  const builders: (() => Sink)[] = [];
  const fileDirs = new Map<string, string>();
  for (const plan of plans) {
    try {
      builders.push(builder(plan, uploaderId, registry, log));
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems); else throw err;
    }
    if (plan.type === 'file') {
      const dir = resolve(plan.settings.fileSinkDir);
      const other = fileDirs.get(dir);
      if (other) problems.push(`${plan.keyOf('fileSinkDir')}: file sinks "${other}" and "${plan.name}" would write the same directory ${dir}`);
      fileDirs.set(dir, plan.name);
    }
  }
  if (plans.filter((p) => p.type === 'stdout').length > 1) problems.push('sinks: at most one stdout sink');
  if (problems.length > 0) throw new ConfigError(problems);
  return builders;
}

function builder(plan: SinkPlan, uploaderId: string, registry: Registry, log: Logger): () => Sink {
  switch (plan.type) {
    case 'file': { const o = fileSinkOptionsFromPlan(plan, log); return () => new FileSink(o); }
    case 'forward': { const o = forwardSinkOptionsFromConfig(plan.settings); return () => new ForwardSink(o, registry, log, plan.name); }
    case 'postgres': { const o = postgresSinkOptionsFromPlan(plan, uploaderId); return () => new PostgresSink(o, registry, log); }
    case 'http': { const o = httpSinkOptionsFromPlan(plan); return () => new HttpSink(o, registry, log); }
    case 'stdout': return () => new StdoutSink(plan.name);
    case 'syslog': { const o = syslogSinkOptionsFromSettings(plan.settings, (k) => plan.keyOf(k)); return () => new SyslogSink(o, registry, log, plan.name); }
  }
}
