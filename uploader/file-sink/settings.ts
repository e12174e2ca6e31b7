import { z } from 'zod';
import { bool, nonNegativeInt, positiveInt, setting } from '../../shared/config/setting-spec.js';

/** The uploader.fileSink.* block: the file sink's settings, and the options a named file sink takes without the prefix. */
export const fileSinkSettings = {
  fileSinkDir: setting('uploader.fileSink.dir', z.string().min(1), 'data/out', 'Directory of the hourly NDJSON files.'),
  fileSinkFsync: setting(
    'uploader.fileSink.fsync',
    bool,
    true,
    'fdatasync before acknowledging; off trusts the page cache (faster, loses the last writes on power loss).',
  ),
  fileSinkFlushMs: setting(
    'uploader.fileSink.flushIntervalMs',
    positiveInt,
    5,
    'Longest a processed batch waits to be written together with others (while a write runs, deliveries gather anyway).',
  ),
  fileSinkPath: setting(
    'uploader.fileSink.path',
    z.string().min(1),
    'events.%Y-%m-%d-%H.ndjson',
    "strftime file name over each event's receipt time (%Y %y %m %d %H %M %S %j %z %%), td-agent style; no directories.",
  ),
  fileSinkTime: setting(
    'uploader.fileSink.time',
    z.enum(['utc', 'local']),
    'utc',
    "Clock of the path pattern: UTC or the process's local time zone (TZ).",
  ),
  fileSinkMaxBytes: setting(
    'uploader.fileSink.maxBytes',
    nonNegativeInt,
    0,
    "Size cap of one file: a period's file rolls to <name>.1.<ext>, .2… before it would pass it (0: no cap).",
  ),
  fileSinkGzip: setting(
    'uploader.fileSink.gzip',
    bool,
    false,
    'gzip closed files (rolled, or of a past period idle for closeIdleMs) in the background; the plain file is removed only after the .gz is durable.',
  ),
  fileSinkCloseIdleMs: setting(
    'uploader.fileSink.closeIdleMs',
    positiveInt,
    600_000,
    "A past period's file not written for this long is closed (and gzipped); events for it arriving later go to its next index.",
  ),
} as const;
