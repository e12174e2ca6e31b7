import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { beginLine, endLine } from '../../../../receiver/syslog/line-state.js';
import { readCommonShape } from '../../../../receiver/syslog/rfc3164-common.js';
import type { StampOptions } from '../../../../receiver/syslog/rfc3164-stamp.js';
import { parseRfc3164 } from '../../../../receiver/syslog/rfc3164.js';
import type { SyslogMessage } from '../../../../receiver/syslog/syslog-message.js';
import { entryBytes, entryOptions, loadCorpus } from '../../../../testkit/syslog-corpus.js';

// The common-shape reader is only a shortcut: for every line it takes, its message must be the general path's.
// The generated lines are the common shape and, part by part, the device shapes the general path reads instead.

/** The index after `<PRI>`, or 0 for a line without one (as parseSyslog reads it). */
function afterPri(line: Buffer): number {
  if (line[0] !== 0x3c) return 0;
  const gt = line.indexOf(0x3e);
  return gt > 0 && gt <= 4 ? gt + 1 : 0;
}

/** Both readers on one line, each between beginLine and endLine as parseSyslog calls them. */
function bothPaths(line: Buffer, options: StampOptions): { fast: SyslogMessage | null; general: SyslogMessage } {
  const start = afterPri(line);
  beginLine(line);
  let fast: SyslogMessage | null;
  try {
    fast = readCommonShape(line, start, 1, 5, options);
  } finally {
    endLine();
  }
  beginLine(line);
  try {
    return { fast, general: parseRfc3164(line, start, 1, 5, options) };
  } finally {
    endLine();
  }
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const two = (n: number) => String(n).padStart(2, '0');
/** Mostly the common form of a part, sometimes a near miss, so that both kinds of line are frequent. */
const mostly = <T>(common: fc.Arbitrary<T>, nearMiss: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: common, weight: 6 }, { arbitrary: nearMiss, weight: 1 });

const priArb = mostly(pick('<13>', '<189>', '<0>', ''), pick('<13> ', '<13>\uFEFF', '<13>*', '<13>.'));
const monthArb = mostly(pick('Jan', 'Feb', 'sep', 'DEC', 'Jun', 'Jul'), pick('Foo', 'Ja', 'Sept', 'J4n'));
const dayArb = mostly(
  fc.oneof(
    fc.integer({ min: 1, max: 9 }).map((d) => ` ${d}`),
    fc.integer({ min: 1, max: 31 }).map((d) => two(d)),
    fc.integer({ min: 1, max: 31 }).map((d) => String(d)),
  ),
  pick('00', '32', ' 1 2026', '05 2026', 'x1', '  7', '123'),
);
const timeArb = mostly(
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m, s]) => `${two(h)}:${two(m)}:${two(s)}`),
  pick('24:00:00', '10:60:00', '23:59:60', '10:11:12.345', '2026 10:11:12', '10:11', '1:02:03', '10:11:12.'),
);
/** What follows the time: nothing (the common shape), or a device's year, zone or ':'. */
const afterTimeArb = mostly(pick(''), pick(' 2026', ' UTC:', ' CEST:', ':', ' UTC+1:', ' utc:', ' EST', ' TZ-6'));
const hostArb = mostly(
  fc.oneof(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,20}$/), pick('host1', '10.0.0.2', 'web-01.example.com')),
  pick(
    '2026',
    '2a1b',
    '12',
    'Message forwarded from aix01:',
    'Message',
    'host:',
    'a:b',
    '2a02:cf40::',
    'UTC-1',
    'UTC',
    'CEST',
    'sshd[12]:',
    'h\u00f4st',
    '-',
    '...',
    '_',
    '',
    'x'.repeat(256),
    '585917:',
    'asa01 :',
    'U7LT,802aa890cd65',
    '("quoted")',
  ),
);
const gapArb = mostly(pick(' '), pick('  ', ' : ', ':', ''));
const tagArb = mostly(
  fc.oneof(
    fc
      .tuple(fc.stringMatching(/^[a-zA-Z0-9._/-]{1,50}$/), fc.option(fc.stringMatching(/^[0-9a-z]{0,8}$/)))
      .map(([name, pid]) => (pid === null ? `${name}: ` : `${name}[${pid}]: `)),
    pick('', 'sshd[777]: ', 'CRON[1]: ', 'app: '),
  ),
  pick(
    'app:',
    'app:x ',
    '%ASA-6-302013: ',
    '%LINK-3-UPDOWN: ',
    'core-sw-01: %LINK-3-UPDOWN: ',
    '123: ',
    '585917: Feb  8 04:00:47.272: %SEC-6-IPACCESSLOGRP: ',
    'a[]: ',
    'a[1 2]: ',
    'a[1]',
    'tag ',
    ': ',
    '[audit] ',
    'Hostd: info hostd[1053970] ',
  ),
);
const msgArb = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  pick('', 'Accepted publickey for nagios', '%SYS-5-CONFIG_I: Configured', '\uFEFFBOM msg', ' leading', ':'),
);
const optionsArb = fc.record({
  now: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2090-12-31T00:00:00Z'), noInvalidDate: true }),
  zone: pick<StampOptions['zone']>(0, 0, 0, 60, -300, 330, 'local', null),
});

const lineArb = fc
  .tuple(priArb, monthArb, dayArb, timeArb, afterTimeArb, hostArb, gapArb, tagArb, msgArb)
  .map(([pri, month, day, time, afterTime, host, gap, tag, msg]) =>
    Buffer.from(`${pri}${month} ${day} ${time}${afterTime} ${host}${gap}${tag}${msg}`),
  );

describe('RFC 3164 common-shape reader', () => {
  it('gives the general path’s message for every generated line it takes, and takes the common shape', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(lineArb, optionsArb, (line, options) => {
        runs++;
        const { fast, general } = bothPaths(line, options);
        if (fast === null) return;
        taken++;
        assert.deepEqual(fast, general, line.toString('latin1'));
        assert.equal(typeof options.zone, 'number', 'only fixed-offset zones take the common shape');
      }),
      { numRuns: 20_000 },
    );
    assert.ok(taken > runs / 10, `only ${taken} of ${runs} generated lines took the common shape`);
  });

  it('gives the general path’s message for the plain shape with random bytes spliced in', () => {
    const base = fc
      .tuple(monthArb, dayArb, timeArb, hostArb, tagArb, msgArb)
      .map(([month, day, time, host, tag, msg]) => Buffer.from(`<13>${month} ${day} ${time} ${host} ${tag}${msg}`));
    fc.assert(
      fc.property(
        base,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
        optionsArb,
        (line, at, bytes, options) => {
          const cut = at % (line.length + 1);
          const spliced = Buffer.concat([line.subarray(0, cut), bytes, line.subarray(cut)]);
          const { fast, general } = bothPaths(spliced, options);
          if (fast !== null) assert.deepEqual(fast, general, spliced.toString('latin1'));
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('gives the general path’s message for every corpus line it takes', () => {
    let taken = 0;
    for (const entry of loadCorpus()) {
      const options = entryOptions(entry);
      if (options.rfc3164TimeZone !== undefined) continue;
      const { fast, general } = bothPaths(entryBytes(entry), { now: options.now, zone: 0 });
      if (fast === null) continue;
      taken++;
      assert.deepEqual(fast, general, entryBytes(entry).toString('latin1'));
    }
    assert.ok(taken > 0);
  });
});
