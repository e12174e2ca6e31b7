import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeRelpFrame,
  encodeRelpFrame,
  nextTxnr,
  RelpFrameReader,
  SERVERCLOSE_FRAME,
  type RelpFrame,
} from '../../../../receiver/inputs/relp-frame.js';
import { answerOpen, parseOffers } from '../../../../receiver/inputs/relp-offers.js';

const MAX = 1024;
const b = (s: string) => Buffer.from(s, 'latin1');
const plain = (f: RelpFrame) => ({ txnr: f.txnr, command: f.command, data: f.data.toString('latin1') });

/** Every frame of `stream` fed in pieces cut at `cuts`, and the error code that broke it, if any. */
function readAll(
  stream: Buffer,
  cuts: readonly number[],
  max = MAX,
): { frames: ReturnType<typeof plain>[]; error: string | null } {
  const reader = new RelpFrameReader(max);
  const frames: ReturnType<typeof plain>[] = [];
  let error: string | null = null;
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    const r = reader.push(stream.subarray(prev, cut));
    frames.push(...r.frames.map(plain));
    error = r.error?.code ?? null;
    prev = cut;
  }
  return { frames, error };
}

// The open frame as rsyslog 8.2302's omrelp (librelp 1.11.0) sent it, captured byte for byte.
const OPEN = b('1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n');
const LINE = '<134>1 2026-12-07T11:49:30.000000+00:00 host smoke - - - line 1';
const SYSLOG = b(`2 syslog ${LINE.length} ${LINE}\n`);

describe('RELP frame decoder', () => {
  it('decodes the frames rsyslog sends: open with its offers, syslog, close (no data)', () => {
    const open = decodeRelpFrame(OPEN, MAX);
    assert.equal(open.kind, 'frame');
    assert.deepEqual(open.kind === 'frame' && { ...plain(open.frame), bytes: open.bytes }, {
      txnr: 1,
      command: 'open',
      data: 'relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog',
      bytes: OPEN.length,
    });
    const syslog = decodeRelpFrame(SYSLOG, MAX);
    assert.deepEqual(syslog.kind === 'frame' && plain(syslog.frame), {
      txnr: 2,
      command: 'syslog',
      data: '<134>1 2026-12-07T11:49:30.000000+00:00 host smoke - - - line 1',
    });
    const close = decodeRelpFrame(b('3 close 0\n'), MAX);
    assert.deepEqual(close.kind === 'frame' && { ...plain(close.frame), bytes: close.bytes }, {
      txnr: 3,
      command: 'close',
      data: '',
      bytes: 10,
    });
  });

  it('data may hold LF and any byte: DATALEN, not a delimiter, ends it', () => {
    const data = Buffer.from([0x0a, 0x00, 0xff, 0x20, 0x0a]);
    const r = decodeRelpFrame(encodeRelpFrame(7, 'syslog', data), MAX);
    assert.ok(r.kind === 'frame');
    assert.deepEqual(r.frame.data, data);
  });

  it('says how many bytes it needs: after the header it waits for the whole DATA and the trailer', () => {
    assert.deepEqual(decodeRelpFrame(b(''), MAX), { kind: 'need-more', atLeast: 1 });
    assert.deepEqual(decodeRelpFrame(b('12'), MAX), { kind: 'need-more', atLeast: 3 });
    assert.deepEqual(decodeRelpFrame(b(`2 syslog ${LINE.length} <134>`), MAX), {
      kind: 'need-more',
      atLeast: SYSLOG.length,
    });
    assert.deepEqual(decodeRelpFrame(SYSLOG.subarray(0, SYSLOG.length - 1), MAX), {
      kind: 'need-more',
      atLeast: SYSLOG.length,
    });
  });

  const refused: [string, string, string][] = [
    ['no TXNR', 'syslog 3 abc\n', 'BAD_TXNR'],
    ['a tenth TXNR digit', '1234567890 syslog 1 a\n', 'BAD_TXNR'],
    ['TXNR then a letter', '1x syslog 1 a\n', 'BAD_TXNR'],
    ['an empty command', '1  1 a\n', 'BAD_COMMAND'],
    ['a command with a digit', '1 sys1og 1 a\n', 'BAD_COMMAND'],
    ['a 33-letter command', `1 ${'a'.repeat(33)} 1 a\n`, 'BAD_COMMAND'],
    ['no DATALEN', '1 syslog \n', 'BAD_DATALEN'],
    ['a tenth DATALEN digit', '1 syslog 1234567890 a\n', 'BAD_DATALEN'],
    ['DATALEN then a letter', '1 syslog 1x\n', 'BAD_DATALEN'],
    ['DATALEN 0 then SP (librelp refuses it)', '1 close 0 \n', 'MISSING_TRAILER'],
    ['a DATALEN shorter than the data', '1 syslog 2 abc\n', 'MISSING_TRAILER'],
    ['DATALEN over the limit, refused at the header', `1 syslog ${MAX + 1} `, 'DATA_TOO_LARGE'],
    ['a declared 999999999 bytes', '1 syslog 999999999 ', 'DATA_TOO_LARGE'],
  ];
  for (const [what, text, code] of refused) {
    it(`refuses ${what} (${code})`, () => {
      const r = decodeRelpFrame(b(text), MAX);
      assert.equal(r.kind, 'error');
      assert.equal(r.kind === 'error' && r.error.code, code);
    });
  }

  it('a frame of exactly the limit is taken, one byte more is not', () => {
    assert.equal(decodeRelpFrame(encodeRelpFrame(1, 'syslog', Buffer.alloc(MAX, 0x61)), MAX).kind, 'frame');
    assert.equal(decodeRelpFrame(encodeRelpFrame(1, 'syslog', Buffer.alloc(MAX + 1, 0x61)), MAX).kind, 'error');
  });

  it('encodes what librelp writes: rsp with data, serverclose as a TXNR 0 hint without data', () => {
    assert.equal(encodeRelpFrame(5, 'rsp', '200 OK').toString(), '5 rsp 6 200 OK\n');
    assert.equal(SERVERCLOSE_FRAME.toString(), '0 serverclose 0\n');
    assert.equal(nextTxnr(1), 2);
    assert.equal(nextTxnr(999_999_999), 1, 'TXNR wraps to 1, never 0 (reserved for hints)');
  });

  it('a stream split at every byte gives the same frames as in one piece', () => {
    const stream = Buffer.concat([OPEN, SYSLOG, encodeRelpFrame(3, 'syslog', b('a\nb')), b('4 close 0\n')]);
    const whole = readAll(stream, []);
    assert.equal(whole.frames.length, 4);
    assert.equal(whole.error, null);
    for (let cut = 1; cut < stream.length; cut++) assert.deepEqual(readAll(stream, [cut]), whole, `cut at ${cut}`);
    assert.deepEqual(
      readAll(
        stream,
        Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
      ),
      whole,
      'one byte per read',
    );
  });

  it('frames before a broken one are still returned; after it the reader stays broken', () => {
    const reader = new RelpFrameReader(MAX);
    const r = reader.push(Buffer.concat([SYSLOG, b('3 syslog x\n')]));
    assert.deepEqual(
      r.frames.map((f) => f.txnr),
      [2],
    );
    assert.equal(r.error?.code, 'BAD_DATALEN');
    const again = reader.push(SYSLOG);
    assert.deepEqual(again.frames, []);
    assert.equal(again.error?.code, 'BAD_DATALEN');
  });

  it('fuzz: any frames, cut anywhere, decode to what was encoded; random bytes never throw', () => {
    const frameArb = fc.record({
      txnr: fc.integer({ min: 0, max: 999_999_999 }),
      command: fc.stringMatching(/^[a-zA-Z]{1,32}$/),
      data: fc.uint8Array({ maxLength: 200 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, rawCuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeRelpFrame(f.txnr, f.command, Buffer.from(f.data))));
          const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
          const { frames: got, error } = readAll(stream, cuts);
          assert.equal(error, null);
          assert.deepEqual(
            got,
            frames.map((f) => ({ txnr: f.txnr, command: f.command, data: Buffer.from(f.data).toString('latin1') })),
          );
        },
      ),
      { seed: 4242, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 300 }), (bytes, cut) => {
        const stream = Buffer.from(bytes);
        const whole = readAll(stream, []);
        assert.deepEqual(readAll(stream, [cut % (stream.length + 1)]), whole, 'a cut never changes the outcome');
      }),
      { seed: 4243, numRuns: 2000 },
    );
  });
});

describe('RELP offers', () => {
  it("answers librelp's open as imrelp does, with relp_version no higher than the client's", () => {
    const offers = parseOffers(
      b('relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog'),
    );
    assert.deepEqual(
      [...offers],
      [
        ['relp_version', ['0']],
        ['relp_software', ['librelp', '1.11.0', 'http://librelp.adiscon.com']],
        ['commands', ['syslog']],
      ],
    );
    assert.deepEqual(answerOpen(offers, 'fanin'), {
      ok: true,
      version: 0,
      response: '200 OK\nrelp_version=0\nrelp_software=fanin\ncommands=syslog',
    });
    assert.equal(
      (answerOpen(parseOffers(b('relp_version=5\ncommands=syslog')), 'fanin') as { version: number }).version,
      1,
    );
  });

  it('refuses a client without relp_version or without the syslog command (500, the session ends)', () => {
    const none = answerOpen(parseOffers(b('commands=syslog')), 'fanin');
    assert.equal(none.ok, false);
    assert.match(none.response, /^500 /);
    const noSyslog = answerOpen(parseOffers(b('relp_version=0\ncommands=eventlog')), 'fanin');
    assert.deepEqual(noSyslog.ok ? null : noSyslog.response, '500 required command not supported by client');
    assert.equal(answerOpen(parseOffers(b('relp_version=x\ncommands=syslog')), 'fanin').ok, false);
  });
});
