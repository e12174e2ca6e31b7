import type { Logger } from './logger.js';

/**
 * SIGTERM/SIGINT drain: stop intake, flush, wait for confirms, then exit. A second signal, or the drain outliving
 * its bound, exits at once (what is unacknowledged stays in RabbitMQ and is redelivered, so nothing is lost).
 */
export function onShutdownSignal(log: Logger, drainTimeoutMs: number, drain: () => Promise<void>): void {
  let draining = false;
  const handler = (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(1);
    }
    draining = true;
    log.info({ signal, drainTimeoutMs }, 'draining');
    const timer = setTimeout(() => {
      log.error({ drainTimeoutMs }, 'drain timed out; exiting');
      process.exit(1);
    }, drainTimeoutMs);
    timer.unref();
    drain().then(
      () => {
        log.info('drained; exiting');
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err: err.message }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * SIGHUP and SIGUSR1 both run `reopen` (logrotate's postrotate habit is SIGHUP, td-agent's is SIGUSR1). Without a
 * handler SIGHUP's default action terminates the process, so every role installs one, even one with nothing to do.
 */
export function onReopenSignal(log: Logger, what: string, reopen: () => void): void {
  const handler = (signal: NodeJS.Signals) => {
    log.info({ signal }, what);
    reopen();
  };
  process.on('SIGHUP', handler);
  process.on('SIGUSR1', handler);
}
