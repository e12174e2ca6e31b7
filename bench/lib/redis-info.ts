// Numbers out of the text of Redis's INFO reply, which the benchmarks read for memory, CPU and key counts.

/** The number after `<field>:` at the start of a line of INFO text; throws when the field is absent. */
export function infoField(text: string, field: string): number {
  const m = new RegExp(`^${field}:([0-9.]+)`, 'm').exec(text);
  if (!m) throw new Error(`redis INFO has no ${field}`);
  return Number(m[1]);
}

/** Redis's own CPU seconds so far (user + system, the whole process). */
export function infoCpuSeconds(text: string): number {
  return infoField(text, 'used_cpu_user') + infoField(text, 'used_cpu_sys');
}

/** Keys in database 0 (the keyspace section), 0 when it holds none: Redis omits an empty database's line. */
export function infoDb0Keys(text: string): number {
  const m = /^db0:keys=(\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

// Commands that are not the dedup's own work: the bench's sampling and the server's management.
const NOT_DATA_COMMANDS = new Set([
  'info',
  'ping',
  'flushall',
  'config',
  'script',
  'client',
  'hello',
  'command',
  'memory',
]);

/**
 * From INFO commandstats: calls of the commands that touch data (what scripts run, and the client's own) and of
 * EVAL/EVALSHA. Redis counts a command a script runs under that command's name.
 */
export function infoCommandCalls(text: string): { data: number; scripts: number } {
  let data = 0;
  let scripts = 0;
  for (const m of text.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) {
    const name = m[1]!;
    const calls = Number(m[2]);
    if (name === 'eval' || name === 'evalsha') scripts += calls;
    else if (!NOT_DATA_COMMANDS.has(name.split('|')[0]!)) data += calls;
  }
  return { data, scripts };
}
