/**
 * Syslog severities by name or number, for `minSeverity`. The names are the ones fanin writes in `severity`
 * (receiver/syslog/syslog-names.ts) and the common spellings of rsyslog and syslog-ng; lower numbers are more severe.
 */
const SEVERITIES: ReadonlyMap<string, number> = new Map([
  ['emerg', 0],
  ['emergency', 0],
  ['panic', 0],
  ['alert', 1],
  ['crit', 2],
  ['critical', 2],
  ['err', 3],
  ['error', 3],
  ['warn', 4],
  ['warning', 4],
  ['notice', 5],
  ['info', 6],
  ['informational', 6],
  ['debug', 7],
]);

/** 0..7 from a name or a number (or a numeric string); null when it is neither. */
export function parseSeverity(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 7 ? value : null;
  if (typeof value !== 'string') return null;
  if (/^[0-7]$/.test(value.trim())) return Number(value.trim());
  return SEVERITIES.get(value.trim().toLowerCase()) ?? null;
}

/** The number of a severity name fanin wrote into an envelope (`warn`), else null. */
export function severityOfName(name: unknown): number | null {
  return typeof name === 'string' ? (SEVERITIES.get(name) ?? null) : null;
}
