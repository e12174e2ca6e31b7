import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from '../shared/config/config-error.js';
import type { Config } from '../shared/config/settings.js';
import { forwardServerOptions } from '../receiver/forward/forward-input.js';
import { httpInputOptions } from '../receiver/inputs/http-input-options.js';
import { loadTlsCredentials } from '../receiver/inputs/tls-credentials.js';
import { relpInputOptions } from '../receiver/inputs/relp-input.js';
import { sinkBuilders } from '../uploader/create-sinks.js';
import { resolveSinkPlans, unroutedSinkProblems, unusedSinkDefinitions, type SinkPlan } from '../uploader/sink-plan.js';

export interface Validation {
  /** Everything that would stop a role from starting, each naming its setting; empty when the configuration is valid. */
  readonly problems: readonly string[];
  /** Worth saying, not fatal (the roles log them as warnings at start). */
  readonly notes: readonly string[];
  /** One line: what each role would run. */
  readonly summary: string;
}

/**
 * `fanin validate`: the checks each role runs at start, all of them, without binding, connecting or writing: the
 * receiver's TLS files and Forward options, the uploader's sink plans and every sink's options. The settings
 * themselves were checked by loadConfig.
 */
export function validateConfiguration(config: Config): Validation {
  const problems: string[] = [];
  const check = (run: () => void) => {
    try {
      run();
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  };
  check(() => {
    if (config.syslogTlsPort > 0 && config.tlsCertFile !== '') {
      loadTlsCredentials({
        certFile: config.tlsCertFile,
        keyFile: config.tlsKeyFile,
        caFile: config.tlsCaFile,
        requireClientCert: config.tlsRequireClientCert,
      });
    }
  });
  check(() => {
    if (config.forwardPort > 0) forwardServerOptions(config);
  });
  check(() => {
    if (config.httpPort > 0) httpInputOptions(config);
  });
  check(() => {
    if (config.relpPort > 0) relpInputOptions(config);
  });
  // Sink by sink, so a definition that cannot be resolved does not hide what is wrong with the others' options.
  const plans: SinkPlan[] = [];
  // Each alone (the unrouted sink's checks need every plan: they run once below).
  for (const name of config.sinks)
    check(() => {
      plans.push(...resolveSinkPlans({ ...config, sinks: [name], unroutedSink: '' }));
    });
  problems.push(...unroutedSinkProblems(config, plans));
  check(() => {
    sinkBuilders(plans, config.uploaderId, new Registry(), pino({ level: 'silent' }));
  });
  const notes: string[] = [];
  const unused = unusedSinkDefinitions(config);
  if (unused.length > 0)
    notes.push(`sinkDefinitions not listed in sinks (they get no queue and receive nothing): ${unused.join(', ')}`);
  if (config.syslogTlsPort > 0 && config.tlsCertFile === '') {
    notes.push(
      `receiver.syslogTlsPort ${config.syslogTlsPort} is set but receiver.tlsCertFile is not: the receiver starts without syslog TLS`,
    );
  }
  return { problems: [...new Set(problems)], notes, summary: summarise(config, plans) };
}

function summarise(config: Config, plans: readonly SinkPlan[]): string {
  const inputs = [
    config.syslogPort > 0 ? `syslog ${config.syslogPort}` : null,
    config.syslogTlsPort > 0 && config.tlsCertFile !== '' ? `syslog tls ${config.syslogTlsPort}` : null,
    config.forwardPort > 0 ? `forward${config.forwardTls ? ' tls' : ''} ${config.forwardPort}` : null,
    config.httpPort > 0 ? `http${config.httpTls ? 's' : ''} ${config.httpPort}` : null,
    config.relpPort > 0 ? `relp${config.relpTls ? ' tls' : ''} ${config.relpPort}` : null,
  ].filter((x) => x !== null);
  const sinks = plans.map((p) => (p.name === p.type ? p.name : `${p.name} (${p.type})`));
  return (
    `namespace "${config.namespace}": receiver ${config.receiverId} (${inputs.join(', ') || 'no inputs'} on ${config.listenHost}), ` +
    `worker ${config.workerId}, uploader ${config.uploaderId} -> ${sinks.join(', ')}`
  );
}
