import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { internedName, nameSlot } from '../../../../receiver/syslog/interned-names.js';
import { parseSyslog } from '../../../../receiver/syslog/parse-syslog.js';

/** internedName over the whole of `name`, placed inside a line so that start and end are not 0 and length. */
function read(name: string): string {
  const line = Buffer.from(`[${name} `, 'latin1');
  return internedName(line, 1, 1 + name.length);
}

/** Two different names that share a table slot, found by search so the test follows any change of the hash. */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const name = `n${i.toString(36)}`;
    const slot = nameSlot(Buffer.from(name, 'latin1'), 0, name.length);
    const other = seen.get(slot);
    if (other !== undefined) return [other, name];
    seen.set(slot, name);
  }
}

describe('interned SD names', () => {
  it('gives back the name it was given, whether the table knew it or not', () => {
    assert.equal(read('exampleSDID@32473'), 'exampleSDID@32473');
    assert.equal(read('exampleSDID@32473'), 'exampleSDID@32473');
    assert.equal(read('__proto__'), '__proto__');
    assert.equal(read('toString'), 'toString');
    assert.equal(read('0'), '0');
    assert.equal(read('12345'), '12345');
  });

  it('names that share a slot replace each other and are never confused', () => {
    const [a, b] = collidingPair();
    assert.notEqual(a, b);
    for (let round = 0; round < 3; round++) {
      assert.equal(read(a), a);
      assert.equal(read(a), a);
      assert.equal(read(b), b);
      assert.equal(read(a), a);
    }
  });

  it('any printable US-ASCII name of 1..32 bytes comes back unchanged, in any order of reads', () => {
    const name = fc.stringMatching(/^[!-~]{1,32}$/);
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 50 }), (names) => {
        for (const n of [...names, ...names.reverse()]) assert.equal(read(n), n);
      }),
      { numRuns: 300 },
    );
  });

  it('colliding SD-IDs and PARAM-NAMEs in one line parse to their own keys', () => {
    const [a, b] = collidingPair();
    const r = parseSyslog(Buffer.from(`<14>1 - h app - - [${a} ${b}="1" ${a}="2"][${b} ${a}="3"] m`), {
      now: new Date(),
    });
    assert.ok(r.ok);
    assert.deepEqual(r.message.structuredData, { [a]: { [b]: '1', [a]: '2' }, [b]: { [a]: '3' } });
  });
});
