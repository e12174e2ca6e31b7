// Generators and invariants for fuzzing the syslog framing decoder and parsers. The same code runs a short
// sample in `npm test` (test/unit/receiver/syslog/syslog-fuzz.test.ts) and a million inputs in `npm run fuzz` (scripts/fuzz.mjs).
//
// Inputs come from three sources, so the fuzzer reaches deep into the parsers instead of bouncing off PRI:
// corpus lines mutated byte-wise (flips, cuts, splices, inserted tokens), lines assembled from header pieces
// devices really send, and arbitrary bytes behind a syslog-looking prefix.

import fc from 'fast-check';
import { decodeBody } from '../shared/batch-codec.js';
import { encodeSyslogFrame } from '../receiver/syslog-event.js';
import { SyslogFrameDecoder, trimLineEnd } from '../receiver/syslog/frame-decoder.js';
import { parseSyslog } from '../receiver/syslog/parse-syslog.js';
import { SyslogParseError, type SyslogParseResult } from '../receiver/syslog/syslog-message.js';
import { entryBytes, loadCorpus } from './syslog-corpus.js';

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const ERROR_CODES = new Set(['EMPTY', 'BAD_PRI', 'BAD_VERSION', 'BAD_TIMESTAMP', 'BAD_HEADER', 'BAD_STRUCTURED_DATA']);
const ZONES = [undefined, 'UTC', 'local', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'No/Such_Zone'];

let seeds: Buffer[] | null = null;
function corpusSeeds(): Buffer[] {
  seeds ??= loadCorpus().map(entryBytes);
  return seeds;
}

const TOKENS = [
  '<13>',
  '<189>',
  '<0>',
  '<191>',
  '<192>',
  '<01>',
  '<>',
  '<1',
  '1 ',
  '2 ',
  ' - ',
  '-',
  ': ',
  ':',
  '[',
  ']',
  '="',
  '"',
  '\\"',
  '\\]',
  '\\\\',
  'Jan ',
  'Feb 29 ',
  'Dec 31 ',
  ' 2024 ',
  '2024 ',
  '23:59:60',
  '00:00:00',
  '.123456789',
  ' UTC:',
  ' CEST:',
  ' IST:',
  ' UTC+07:30:',
  '*',
  '.',
  '123: ',
  'host: ',
  '2001:db8::1 ',
  'date=2024-01-02 time=03:04:05 ',
  ' devname="x" ',
  ' tz="+0100" ',
  'Message forwarded from ',
  'sshd[42]: ',
  '%ASA-6-302013: ',
  '2024-01-02T03:04:05.678+01:00 ',
  '\uFEFF',
  '\u0000',
  '\r',
  '\n',
  '\t',
  '\u00e9',
  '\uFFFD',
  '\u{1F600}',
  ' ',
].map((t) => Buffer.from(t));
const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc3]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xef, 0xbb]),
];

type Mutation = (b: Buffer, r: () => number) => Buffer;
const MUTATIONS: Mutation[] = [
  (b, r) => {
    const c = Buffer.from(b);
    if (c.length > 0) c[Math.floor(r() * c.length)] = Math.floor(r() * 256);
    return c;
  },
  (b, r) => b.subarray(0, Math.floor(r() * (b.length + 1))),
  (b, r) => b.subarray(Math.floor(r() * (b.length + 1))),
  (b, r) => {
    const at = Math.floor(r() * (b.length + 1));
    const t = pick(TOKENS, r);
    return Buffer.concat([b.subarray(0, at), t, b.subarray(at)]);
  },
  (b, r) => {
    const at = Math.floor(r() * (b.length + 1));
    const t = pick(INVALID_UTF8, r);
    return Buffer.concat([b.subarray(0, at), t, b.subarray(at)]);
  },
  (b, r) => {
    const at = Math.floor(r() * (b.length + 1));
    const n = Math.floor(r() * 8);
    return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
  },
  (b, r) => {
    const other = pick(corpusSeeds(), r);
    const at = Math.floor(r() * (b.length + 1));
    return Buffer.concat([b.subarray(0, at), other.subarray(Math.floor(r() * other.length))]);
  },
  (b, r) => {
    const at = Math.floor(r() * (b.length + 1));
    const n = 1 + Math.floor(r() * 6);
    return Buffer.concat([b.subarray(0, at), Buffer.from(String(Math.floor(r() * 10 ** n))), b.subarray(at)]);
  },
];

function pick<T>(items: readonly T[], r: () => number): T {
  return items[Math.floor(r() * items.length)]!;
}

/** A corpus line with 1 to 4 mutations; fast-check drives the choices, so a failure shrinks and replays by seed. */
const mutatedCorpusLine = fc
  .tuple(
    fc.nat(),
    fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 2, maxLength: 16 }),
  )
  .map(([seed, randoms]) => {
    let k = 0;
    const r = () => randoms[k++ % randoms.length]!;
    let line = corpusSeeds()[seed % corpusSeeds().length]!;
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) line = pick(MUTATIONS, r)(line, r);
    return line;
  });

/** Lines assembled from pieces of real headers, in any order and number. */
const assembledLine = fc
  .array(fc.constantFrom(...TOKENS, ...INVALID_UTF8), { minLength: 1, maxLength: 14 })
  .map((parts) => Buffer.concat(parts));

const PREFIXES = [
  '',
  '<13>',
  '<165>1 ',
  '<0>1 - ',
  '<14>1 2024-02-29T23:59:59.5+01:00 h a p m ',
  '<1>1 - - - - - [a b="',
  '<13>Jan  2 03:04:05 ',
  '<13>2024-01-02T03:04:05',
  '<189>1: *Mar  1 00:00:12.345',
  '<34>2 ',
  '<189>: host: 2023 May  2 12:55:19 UTC',
  '<189>date=2026-01-05 time=10:00:00 ',
  'Jan  2 03:04:05 host ',
  '<166>%ASA-6-302013: ',
].map((p) => Buffer.from(p));

/** Arbitrary bytes behind a prefix that gets them past PRI and into a header parser. */
const prefixedBytes = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.uint8Array({ maxLength: 200 }))
  .map(([prefix, tail]) => Buffer.concat([prefix, tail]));

export const syslogLineArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: mutatedCorpusLine },
  { weight: 2, arbitrary: assembledLine },
  { weight: 2, arbitrary: prefixedBytes },
  { weight: 1, arbitrary: fc.constantFrom(...corpusSeeds()) },
);

export const parseCaseArb = fc.record({
  line: syslogLineArb,
  now: fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
  zone: fc.constantFrom(...ZONES),
});

function fail(what: string, line: Buffer): never {
  throw new Error(`${what} for line ${JSON.stringify(line.toString('latin1'))}`);
}

/**
 * Parses `line` and checks every promise parseSyslog makes: it never throws; an error is a SyslogParseError
 * with a known code and an offset inside the line; a parse has fields in range, a UTC ISO time, header fields
 * taken from the line, and MSG a tail of the text, so nothing is lost; the same line parses the same again (the
 * parser reuses state between lines); and a line that is not syslog keeps its whole text in the raw envelope.
 */
export function checkParse(line: Buffer, now: Date, zone: string | undefined): SyslogParseResult {
  let r: SyslogParseResult;
  try {
    r = parseSyslog(line, { now, rfc3164TimeZone: zone });
  } catch (err) {
    fail(`parseSyslog threw ${String(err)}`, line);
  }
  if (!r.ok) {
    if (!(r.error instanceof SyslogParseError) || !ERROR_CODES.has(r.error.code))
      fail(`error ${r.error.code}: ${r.error.message}`, line);
    if (!(r.error.offset >= 0 && r.error.offset <= line.length)) fail(`error offset ${r.error.offset}`, line);
    if (line.length > 0 && line[0] !== 0x3c) fail('a line without PRI was not parsed', line);
    const env = decodeBody(
      encodeSyslogFrame(line, { receiverId: 'fuzz', source: null, transport: 'tcp', hashSourceAddress: true }, now)
        .body,
    ) as { format: string; message: string };
    if (env.format !== 'raw' || env.message !== line.toString('utf8')) fail('raw envelope lost the text', line);
  } else {
    const m = r.message;
    if (m.format !== 'rfc5424' && m.format !== 'rfc3164') fail(`format ${String(m.format)}`, line);
    if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > 23) fail(`facility ${m.facility}`, line);
    if (!Number.isInteger(m.severity) || m.severity < 0 || m.severity > 7) fail(`severity ${m.severity}`, line);
    if (line[0] !== 0x3c && (m.facility !== 1 || m.severity !== 5 || m.format !== 'rfc3164'))
      fail('missing PRI is not user.notice', line);
    if (m.time !== null && !ISO_UTC.test(m.time)) fail(`time ${m.time}`, line);
    const latin1 = line.toString('latin1');
    for (const field of [m.hostname, m.appName, m.procId, m.msgId]) {
      if (field !== null && (field.length === 0 || !latin1.includes(field)))
        fail(`field ${JSON.stringify(field)} is not from the line`, line);
    }
    let start = line[0] === 0x3c ? line.indexOf(0x3e) + 1 : 0;
    if (line[start] === 0xef && line[start + 1] === 0xbb && line[start + 2] === 0xbf) start += 3;
    if (!line.toString('utf8', start).endsWith(m.message))
      fail(`MSG ${JSON.stringify(m.message)} is not a tail of the text`, line);
  }
  const again = parseSyslog(line, { now, rfc3164TimeZone: zone });
  if (JSON.stringify(again) !== JSON.stringify(r)) fail('a second parse differs', line);
  return r;
}

// ---- framing ----

const byteArb = fc.integer({ min: 0, max: 255 });
const newlineFrame = fc
  .tuple(
    fc.constantFrom(...'<abc -_'.split('').map((c) => c.charCodeAt(0))),
    fc.array(
      byteArb.filter((b) => b !== 0x0a),
      { maxLength: 60 },
    ),
  )
  .map(([first, rest]) => ({ kind: 'newline' as const, payload: Buffer.from([first, ...rest]) }));
const octetFrame = fc
  .array(byteArb, { minLength: 1, maxLength: 80 })
  .map((bytes) => ({ kind: 'octet' as const, payload: Buffer.from(bytes) }));
// A corpus line as an octet-counted frame, or as a newline frame when it can be one (a newline frame that
// starts with a digit would be read as octet counting, and one with an LF inside is two frames).
const corpusFrame = fc.constantFrom(...corpusSeeds()).chain((payload) => {
  const first = payload[0] ?? 0;
  const asLine =
    (first >= 0x31 && first <= 0x39) || first === 0x0a || first === 0x0d || payload.includes(0x0a) ? null : payload;
  return asLine === null
    ? fc.constant({ kind: 'octet' as const, payload })
    : fc.constantFrom({ kind: 'octet' as const, payload }, { kind: 'newline' as const, payload: asLine });
});
type GenFrame = { kind: 'newline' | 'octet'; payload: Buffer };

function encodeFrames(frames: GenFrame[], terminateLast: boolean): Buffer {
  return Buffer.concat(
    frames.map((f, i) =>
      f.kind === 'octet'
        ? Buffer.concat([Buffer.from(`${f.payload.length} `), f.payload])
        : Buffer.concat([f.payload, Buffer.from(i < frames.length - 1 || terminateLast ? '\n' : '')]),
    ),
  );
}

/** A stream of frames, sometimes with garbage appended, the offsets to cut it at, and the frame size limit. */
export const framingCaseArb = fc
  .tuple(
    fc.array(fc.oneof(newlineFrame, octetFrame, corpusFrame), { maxLength: 10 }),
    fc.boolean(),
    fc.uint8Array({ maxLength: 24 }),
    fc.boolean(),
    fc.integer({ min: 1, max: 400 }),
  )
  .chain(([frames, terminateLast, garbage, withGarbage, max]) => {
    const stream = withGarbage
      ? Buffer.concat([encodeFrames(frames, terminateLast), garbage])
      : encodeFrames(frames, terminateLast);
    const cuts = fc
      .uniqueArray(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 })
      .map((a) => a.sort((x, y) => x - y));
    return fc.record({
      frames: fc.constant(frames),
      stream: fc.constant(stream),
      garbage: fc.constant(withGarbage),
      cuts,
      maxFrameBytes: fc.constant(max),
    });
  });

/** Frames, or the error code, of a whole decode of `stream` cut at `cuts`. */
export function decodeStream(stream: Buffer, cuts: number[], maxFrameBytes: number): string[] | string {
  const decoder = new SyslogFrameDecoder({ maxFrameBytes });
  const frames: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    const { frames: got, error } = decoder.push(stream.subarray(prev, cut));
    if (error !== null) return error.code;
    frames.push(...got);
    prev = cut;
  }
  const last = decoder.end();
  if (last !== null) frames.push(last);
  for (const f of frames)
    if (f.length > maxFrameBytes || f.length === 0)
      throw new Error(`frame of ${f.length} bytes, limit ${maxFrameBytes}`);
  return frames.map((f) => f.toString('latin1'));
}

/**
 * Framing gives the same outcome however the stream is split; it throws only its own two errors; and when
 * every frame fits and nothing follows them, it gives exactly the frames that were encoded.
 */
export function checkFraming(c: {
  frames: GenFrame[];
  stream: Buffer;
  garbage: boolean;
  cuts: number[];
  maxFrameBytes: number;
}): void {
  const whole = decodeStream(c.stream, [], c.maxFrameBytes);
  const split = decodeStream(c.stream, c.cuts, c.maxFrameBytes);
  if (JSON.stringify(whole) !== JSON.stringify(split)) {
    throw new Error(
      `split ${JSON.stringify(c.cuts)} changed the frames of ${JSON.stringify(c.stream.toString('latin1'))}`,
    );
  }
  const fits = c.frames.every((f) => f.payload.length <= c.maxFrameBytes);
  if (!c.garbage && fits && typeof whole !== 'string') {
    const want = c.frames.map((f) => trimLineEnd(f.payload).toString('latin1')).filter((s) => s.length > 0);
    if (JSON.stringify(whole) !== JSON.stringify(want))
      throw new Error(`frames ${JSON.stringify(whole)} instead of ${JSON.stringify(want)}`);
  }
}
