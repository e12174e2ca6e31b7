import { ConfigError } from '../../shared/config/config-error.js';
import type { Logger } from '../../shared/logger.js';
import type { SinkPlan } from '../sink-plan.js';
import type { FileSinkOptions } from './file-sink.js';
import { compileFileNamePattern } from '../ndjson/path-pattern.js';

/** The file sink's options from its plan (uploader.fileSink.* or its definition), validated once at start-up. */
export function fileSinkOptionsFromPlan(plan: SinkPlan, log: Logger): FileSinkOptions {
  const s = plan.settings;
  try {
    compileFileNamePattern(s.fileSinkPath, s.fileSinkTime);
  } catch (err) {
    throw new ConfigError([
      `${plan.keyOf('fileSinkPath')}: ${(err as Error).message}; got ${JSON.stringify(s.fileSinkPath)}`,
    ]);
  }
  return Object.freeze({
    name: plan.name,
    dir: s.fileSinkDir,
    fsync: s.fileSinkFsync,
    pattern: s.fileSinkPath,
    clock: s.fileSinkTime,
    maxBytes: s.fileSinkMaxBytes,
    gzip: s.fileSinkGzip,
    closeIdleMs: s.fileSinkCloseIdleMs,
    log: log.child({ sink: plan.name }),
  });
}
