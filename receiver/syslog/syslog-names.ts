import { FACILITY_NAMES, SEVERITY_NAMES } from '../../shared/syslog-names.js';

/**
 * Name of facility 0..23. Anything else gives 'unknown' rather than throwing: the names end up in tags and
 * metric labels, where a bounded set matters more than an exception on the hot path.
 */
export function facilityName(facility: number): string {
  return (FACILITY_NAMES as readonly string[])[facility] ?? 'unknown';
}

/** Name of severity 0..7; anything else gives 'unknown' (see facilityName). */
export function severityName(severity: number): string {
  return (SEVERITY_NAMES as readonly string[])[severity] ?? 'unknown';
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
