/**
 * The parts of an alert expression that must return series on a healthy fleet: an alert's condition is usually
 * empty there (nothing is wrong), so the test checks what the condition compares instead.
 *
 *   A or B            → signals of A and of B (each alternative is a condition of its own)
 *   A and B           → signals of A and of B
 *   A unless B        → signals of A (B may rightly be empty)
 *   X > Y, X == Y …   → X and Y, except number literals
 *   anything else     → the expression itself
 *
 * Only operators outside parentheses, brackets, braces and strings split; precedence follows PromQL (or < and/unless
 * < comparisons). Vector-matching modifiers (on, ignoring, group_left, group_right, bool) are dropped.
 */
export function conditionSignals(expr: string): string[] {
  const e = unwrap(expr.trim());
  const ors = splitTopLevel(e, /^or\b/i, true);
  if (ors.length > 1) return ors.flatMap((p) => conditionSignals(p.text));
  const sets = splitTopLevel(e, /^(and|unless)\b/i, true);
  if (sets.length > 1)
    return sets.filter((p) => p.operator?.toLowerCase() !== 'unless').flatMap((p) => conditionSignals(p.text));
  const comparisons = splitTopLevel(e, /^(==|!=|>=|<=|>|<)/, false);
  if (comparisons.length > 1)
    return comparisons
      .map((p) => p.text)
      .filter((t) => !isNumberLiteral(t))
      .map(unwrap);
  return [e];
}

interface Part {
  readonly text: string;
  /** The operator before this part (none for the first). */ readonly operator: string | null;
}

function splitTopLevel(expr: string, operator: RegExp, word: boolean): Part[] {
  const parts: Part[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  let pendingOperator: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
      continue;
    }
    if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      continue;
    }
    if (depth !== 0) continue;
    if (word && i > 0 && /[a-zA-Z0-9_:]/.test(expr[i - 1]!)) continue;
    const m = operator.exec(expr.slice(i));
    if (!m) continue;
    // `=~` and `!~` only occur inside braces; `>=`/`<=` are matched before `>`/`<` by the alternation order.
    parts.push({ text: expr.slice(start, i).trim(), operator: pendingOperator });
    pendingOperator = m[0];
    i += m[0].length - 1;
    start = i + 1;
  }
  parts.push({ text: expr.slice(start).trim(), operator: pendingOperator });
  return parts.map((p) => ({ ...p, text: stripModifiers(p.text) }));
}

function stripModifiers(text: string): string {
  return text
    .replace(/^\s*(bool\b\s*)?((on|ignoring)\s*\([^)]*\)\s*)?((group_left|group_right)\b\s*(\([^)]*\))?\s*)?/i, '')
    .trim();
}

function isNumberLiteral(text: string): boolean {
  return /^[-+]?((\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|Inf|NaN)$/i.test(text.trim());
}

/** Drops parentheses around the whole expression, as often as they are there. */
function unwrap(expr: string): string {
  let e = expr;
  for (let guard = 0; guard < 100 && wrapped(e); guard++) e = e.slice(1, -1).trim();
  return e;
}

function wrapped(e: string): boolean {
  if (!e.startsWith('(') || !e.endsWith(')')) return false;
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < e.length; i++) {
    const ch = e[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth === 0 && i < e.length - 1) return false;
  }
  return true;
}
