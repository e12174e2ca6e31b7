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
