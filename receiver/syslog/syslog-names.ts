// Facility and severity names exactly as fluentd's in_syslog spells them (FACILITY_MAP, PRIORITY_MAP in
// lib/fluent/plugin/in_syslog.rb), so tags built from them (`<prefix>.<facility>.<severity>`) match what
// fluentd users already route on. Note 'warn' (not 'warning'), 'at' for 15 and 'alert' for facility 14.

const FACILITY_NAMES: readonly string[] = [
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
];

const SEVERITY_NAMES: readonly string[] = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

/**
 * Name of facility 0..23. Anything else gives 'unknown' rather than throwing: the names end up in tags and
 * metric labels, where a bounded set matters more than an exception on the hot path.
 */
export function facilityName(facility: number): string {
  return FACILITY_NAMES[facility] ?? 'unknown';
}

/** Name of severity 0..7; anything else gives 'unknown' (see facilityName). */
export function severityName(severity: number): string {
  return SEVERITY_NAMES[severity] ?? 'unknown';
}

/** Every facility × severity tag, built once: the receiver tags every event. */
const TAGS: readonly string[] = Array.from(
  { length: 24 * 8 },
  (_, i) => `syslog.${facilityName(i >> 3)}.${severityName(i & 7)}`,
);

/** `syslog.<facility>.<severity>`, the tag of a parsed syslog event. */
export function syslogTag(facility: number, severity: number): string {
  return (
    (facility >= 0 && facility < 24 && severity >= 0 && severity < 8 ? TAGS[facility * 8 + severity] : undefined) ??
    `syslog.${facilityName(facility)}.${severityName(severity)}`
  );
}
