import { z } from 'zod';
import { parseSeverity } from './severity.js';
import { compileTagPatterns, TagPatternError } from './tag-pattern.js';

/** `match` / `exclude`: one pattern string (white space separates several, as in `<match a.** b.*>`) or an array. */
export const tagPatternsOption = z.union([z.string(), z.array(z.string()).min(1)]).transform((v, ctx) => {
  const list = typeof v === 'string' ? [v] : v;
  try {
    compileTagPatterns(list);
  } catch (err) {
    if (!(err instanceof TagPatternError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
  return list;
});

/** `minSeverity`: a syslog severity name (emerg, alert, crit, err, warning, notice, info, debug) or 0..7. */
export const severityOption = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const severity = parseSeverity(v);
  if (severity === null) {
    ctx.addIssue({
      code: 'custom',
      message: 'a syslog severity: emerg, alert, crit, err, warning, notice, info, debug, or 0 (emerg) to 7 (debug)',
    });
    return z.NEVER;
  }
  return severity;
});
