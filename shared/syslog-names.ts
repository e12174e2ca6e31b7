// Facility and severity names exactly as fluentd's in_syslog spells them (FACILITY_MAP, PRIORITY_MAP in
// lib/fluent/plugin/in_syslog.rb), so tags built from them (`<prefix>.<facility>.<severity>`) match what
// fluentd users already route on. Note 'warn' (not 'warning'), 'at' for 15 and 'alert' for facility 14.
// One table for the receiver (envelopes, tags) and the syslog sink (its settings, and reading envelopes back).

/** Facility names in code order, 0..23. */
export const FACILITY_NAMES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'at',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

/** Severity names in code order, 0..7. */
export const SEVERITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;
