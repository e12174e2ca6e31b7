import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTagPattern, compileTagPatterns, TagPatternError } from '../../../../uploader/routing/tag-pattern.js';

const matches = (pattern: string, tag: string) => compileTagPattern(pattern).test(tag);

function expectMatch(pattern: string, yes: readonly string[], no: readonly string[]): void {
  for (const tag of yes) assert.ok(matches(pattern, tag), `"${pattern}" should match "${tag}"`);
  for (const tag of no) assert.ok(!matches(pattern, tag), `"${pattern}" should not match "${tag}"`);
}

/**
 * A reference matcher written the other way round (over dot-separated parts, recursively), for patterns made of
 * whole parts: a literal, `*` (one part) or `**` (zero or more parts).
 */
function referenceMatch(pattern: readonly string[], tag: readonly string[]): boolean {
  if (pattern.length === 0) return tag.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**')
    return Array.from({ length: tag.length + 1 }, (_, k) => k).some((k) => referenceMatch(rest, tag.slice(k)));
  if (tag.length === 0) return false;
  return (head === '*' || head === tag[0]) && referenceMatch(rest, tag.slice(1));
}

function* sequences<T>(alphabet: readonly T[], maxLength: number, minLength = 1): Generator<T[]> {
  for (let length = minLength; length <= maxLength; length++) {
    const total = alphabet.length ** length;
    for (let n = 0; n < total; n++) {
      const out: T[] = [];
      for (let k = 0, m = n; k < length; k++, m = Math.floor(m / alphabet.length))
        out.push(alphabet[m % alphabet.length]!);
      yield out;
    }
  }
}

describe('fluentd tag patterns', () => {
  it('matches literal tags exactly, case-sensitively', () => {
    expectMatch('a', ['a'], ['b', 'ab', 'a.b', 'A', '']);
    expectMatch('a.b', ['a.b'], ['a', 'a.b.c', 'ab', 'a.bc', 'axb']);
  });

  it('`*` matches within one part, never across a dot', () => {
    expectMatch('*', ['a', 'abc', ''], ['a.b']);
    expectMatch('a.*', ['a.b', 'a.c', 'a.'], ['a', 'a.b.c', 'ab']);
    expectMatch('*.b', ['a.b', 'x.b'], ['b', 'a.x.b']);
    expectMatch('a*', ['a', 'ab', 'abc'], ['b', 'a.b']);
    expectMatch('a*c', ['ac', 'abc'], ['a.c', 'ab']);
  });

  it('`**` matches zero or more parts, on part boundaries', () => {
    expectMatch('**', ['a', 'a.b.c', ''], []);
    expectMatch('a.**', ['a', 'a.b', 'a.b.c'], ['ab', 'b.a', 'xa']);
    expectMatch('**.a', ['a', 'b.a', 'c.b.a'], ['ba', 'a.b']);
    expectMatch('a.**.b', ['a.b', 'a.x.b', 'a.x.y.b'], ['ab', 'a.xb', 'a.b.c', 'b']);
    expectMatch('syslog.**', ['syslog', 'syslog.auth.info', 'syslog.raw'], ['syslogx', 'app.syslog']);
  });

  it('`{a,b}` alternatives, with patterns inside and nested', () => {
    expectMatch('{a,b}', ['a', 'b'], ['c', 'ab', 'a.b']);
    expectMatch('a.{b,c}.d', ['a.b.d', 'a.c.d'], ['a.d', 'a.bc.d', 'a.b.c.d']);
    expectMatch('{a,b}.**', ['a', 'b.x', 'a.x.y'], ['c.a']);
    expectMatch('a.{b,c.**}', ['a.b', 'a.c', 'a.c.d.e'], ['a.b.c', 'a.d']);
    expectMatch('{a,{b,c}.d}', ['a', 'b.d', 'c.d'], ['b', 'a.d']);
    expectMatch(
      'syslog.{auth,authpriv}.*',
      ['syslog.auth.info', 'syslog.authpriv.err'],
      ['syslog.kern.info', 'syslog.auth'],
    );
  });

  it('white space separates patterns, as in `<match a.** b.*>`; an array is any of its patterns', () => {
    expectMatch('a.** b.*', ['a', 'a.x.y', 'b.x'], ['b', 'b.x.y', 'c']);
    const p = compileTagPatterns(['app.**', 'syslog.auth.* syslog.authpriv.*']);
    assert.ok(p.test('app.web') && p.test('syslog.auth.info') && p.test('syslog.authpriv.err'));
    assert.ok(!p.test('syslog.kern.info'));
    assert.equal(p.source, 'app.** syslog.auth.* syslog.authpriv.*');
  });

  it('knows when a pattern list matches everything', () => {
    assert.equal(compileTagPattern('**').matchesAll, true);
    assert.equal(compileTagPatterns(['a.**', '**']).matchesAll, true);
    assert.equal(compileTagPattern('a.** **').matchesAll, true);
    assert.equal(compileTagPattern('*').matchesAll, false);
    assert.equal(compileTagPattern('**.**').matchesAll, false);
  });

  it('takes other characters literally, and \\ escapes the next one', () => {
    expectMatch('a+b', ['a+b'], ['aab', 'ab']);
    expectMatch('a?b', ['a?b'], ['axb', 'ab']);
    expectMatch('a(b)|c', ['a(b)|c'], ['ab', 'c']);
    expectMatch('a-b_c', ['a-b_c'], ['a-bxc']);
    expectMatch('a\\*', ['a*'], ['a', 'ab']);
    expectMatch('a\\.b', ['a.b'], ['axb']);
    expectMatch('a\\{b,c\\}', ['a{b,c}'], ['ab', 'ac']);
    expectMatch('a}b,c', ['a}b,c'], ['ab']);
    expectMatch('é.*', ['é.x'], ['e.x']);
  });

  it('drops a trailing dot, as fluentd does', () => {
    expectMatch('a.', ['a'], ['a.', 'a.b']);
  });

  it('refuses what would silently match nothing or something else', () => {
    assert.throws(() => compileTagPattern(''), TagPatternError);
    assert.throws(() => compileTagPattern('   '), TagPatternError);
    assert.throws(() => compileTagPatterns([]), TagPatternError);
    assert.throws(() => compileTagPattern('{a,b'), /unclosed \{ in "\{a,b"/);
    assert.throws(() => compileTagPattern('a.{b,{c}'), /unclosed/);
    assert.throws(() => compileTagPattern('a\\'), /trailing \\/);
  });

  it('agrees with a part-by-part reference on every pattern of up to 4 parts over a, b, * and ** and tags of up to 4 parts', () => {
    const tags = [...sequences(['a', 'b'], 4)];
    let checked = 0;
    for (const pattern of sequences(['a', 'b', '*', '**'], 4)) {
      // fluentd's regex translation gives `**.**` a meaning of its own (each `**.` wants a dot): not part semantics.
      if (pattern.some((p, i) => p === '**' && pattern[i + 1] === '**')) continue;
      const compiled = compileTagPattern(pattern.join('.'));
      for (const tag of tags) {
        assert.equal(
          compiled.test(tag.join('.')),
          referenceMatch(pattern, tag),
          `"${pattern.join('.')}" on "${tag.join('.')}"`,
        );
        checked++;
      }
    }
    assert.ok(checked > 5000, `${checked} pairs`);
  });
});
