/**
 * fluentd's tag patterns (`<match a.** b.*>`, lib/fluent/match.rb), compiled once at start-up to one RegExp each:
 *
 * - `*` matches one dot-separated part (any characters but `.`, possibly none, as in fluentd);
 * - `**` matches zero or more parts: `a.**` matches `a`, `a.b`, `a.b.c` (not `ab`), `**.b` matches `b` and `x.y.b`,
 *   `a.**.b` matches `a.b` and `a.x.y.b`;
 * - `{x,y}` matches either alternative; alternatives may hold patterns and nest (`a.{b,c.**}`);
 * - `\` takes the next character literally; every other character matches itself;
 * - a string holds several patterns separated by white space (`<match a.** b.**>`); any one matching is a match.
 *
 * Hand-written: glob libraries (picomatch, minimatch) separate parts by `/` and give `**` path semantics, not
 * fluentd's dot-part semantics with the `a.**` ⇒ `a` case. One deliberate difference: fluentd closes an unclosed `{`
 * silently, with its alternatives taken as literal text; here it is a configuration error.
 */
export class TagPatternError extends Error {
  override readonly name = 'TagPatternError';
}

export interface TagPattern {
  /** The pattern as written. */
  readonly source: string;
  /** True when it matches every tag (`**`): routing can be skipped. */
  readonly matchesAll: boolean;
  test(tag: string): boolean;
}

const MATCH_ALL: TagPattern = Object.freeze({ source: '**', matchesAll: true, test: () => true });

const escapeRegExp = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** One pattern (no white space) to its anchored regular expression source; throws TagPatternError. */
export function tagPatternRegExpSource(pattern: string): string {
  if (pattern === '') throw new TagPatternError('an empty pattern matches nothing: use "**" for every tag');
  // Each open `{` pushes a list of finished alternatives and starts a new one; `out` is the alternative being built.
  const stack: string[][] = [];
  const parts: string[] = [''];
  const emit = (s: string) => {
    parts[parts.length - 1] += s;
  };
  let dot = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (pattern.startsWith('**', i)) {
      // After a dot, `**` may match zero parts: `a.**` matches `a` itself, never `ab`.
      if (dot) {
        emit('(?![^.])');
        dot = false;
      }
      if (pattern[i + 2] === '.') {
        emit('(?:.*\\.|^)');
        i += 2;
      } else {
        emit('.*');
        i += 1;
      }
      continue;
    }
    if (dot) {
      emit('\\.');
      dot = false;
    }
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw new TagPatternError(`a trailing \\ escapes nothing in "${pattern}"`);
      emit(escapeRegExp(next));
      i += 1;
    } else if (c === '.') {
      dot = true;
    } else if (c === '*') {
      emit('[^.]*');
    } else if (c === '{') {
      stack.push([]);
      parts.push('');
    } else if (c === '}' && stack.length > 0) {
      const alternatives = stack.pop()!;
      alternatives.push(parts.pop()!);
      emit(`(?:${alternatives.join('|')})`);
    } else if (c === ',' && stack.length > 0) {
      stack[stack.length - 1]!.push(parts.pop()!);
      parts.push('');
    } else {
      emit(escapeRegExp(c));
    }
  }
  // A trailing dot is dropped, as in fluentd (which writes a dot only before the next character): `a.` is `a`.
  if (stack.length > 0) throw new TagPatternError(`unclosed { in "${pattern}"`);
  return `^${parts[0]!}$`;
}

/** One pattern string (several patterns separated by white space, like fluentd's `<match>` argument). */
export function compileTagPattern(source: string): TagPattern {
  const patterns = source.trim().split(/\s+/).filter(Boolean);
  if (patterns.length === 0) throw new TagPatternError('an empty pattern matches nothing: use "**" for every tag');
  return compileTagPatterns(patterns);
}

/** Several patterns, any one matching; each may itself hold white-space separated patterns. */
export function compileTagPatterns(sources: readonly string[]): TagPattern {
  const patterns = sources.flatMap((s) => s.trim().split(/\s+/).filter(Boolean));
  if (patterns.length === 0) throw new TagPatternError('no pattern given: use "**" for every tag');
  if (patterns.includes('**')) return MATCH_ALL;
  const regex = new RegExp(patterns.map((p) => `(?:${tagPatternRegExpSource(p)})`).join('|'));
  return Object.freeze({ source: patterns.join(' '), matchesAll: false, test: (tag: string) => regex.test(tag) });
}
