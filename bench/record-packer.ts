/**
 * `node dist/bench/record-packer.js`: the receiver's body encoding, as the receiver runs it: parse a syslog frame
 * (fresh strings, as the parser makes them), then encode its body: compact (what receivers write), or as a map
 * (what they wrote before) by packRecord and @msgpack/msgpack. Also bytes per body. (msgpackr was compared here too,
 * 3.5 µs per frame as a map; it is no longer a dependency: bench/README.md.) Each encoder
 * runs in its own child process (so one encoder's JIT state cannot slow another's), the children alternate over
 * several rounds, and the table shows the median ns per frame and the difference to the compact body. It first checks
 * that every encoder's bytes decode to the same envelope. Lines: the syslog corpus and the bench's own line shape.
 *
 * Settings (environment): BENCH_PACK_ROUNDS=5 BENCH_PACK_ROUND_MS=600.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Encoder } from '@msgpack/msgpack';
import { syslogBodyValues } from '../receiver/syslog-event.js';
import { decodeBody } from '../shared/batch-codec.js';
import { expandCompactBody, PARSED_SYSLOG_SCHEMA } from '../shared/compact-body.js';
import { packRecord, packTuple } from '../shared/record-packer.js';
import { entryBytes, loadCorpus } from '../testkit/syslog-corpus.js';

const ROUNDS = Number(process.env.BENCH_PACK_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_PACK_ROUND_MS ?? 600);
const SELF = fileURLToPath(import.meta.url);

const msgpack = new Encoder();
/** The envelope object as the receiver built it for a map body (an object literal, not a loop over names). */
function envelopeObject(v: readonly unknown[]): object {
  return v[0] === PARSED_SYSLOG_SCHEMA
    ? {
        tag: v[1],
        time: v[2],
        received_at: v[3],
        receiver: v[4],
        source: v[5],
        transport: v[6],
        format: v[7],
        message: v[8],
        facility: v[9],
        severity: v[10],
        hostname: v[11],
        app_name: v[12],
        proc_id: v[13],
        msg_id: v[14],
        structured_data: v[15],
      }
    : {
        tag: v[1],
        time: v[2],
        received_at: v[3],
        receiver: v[4],
        source: v[5],
        transport: v[6],
        format: v[7],
        message: v[8],
        parse_error: v[9],
      };
}

/** From the receiver's values to body bytes: the compact array (what receivers write), or a map by each encoder. */
const ENCODERS: Record<string, (values: unknown[]) => Uint8Array> = {
  'compact (packTuple)': packTuple,
  'map (packRecord)': (v) => packRecord(envelopeObject(v)),
  'map (@msgpack/msgpack)': (v) => msgpack.encode(envelopeObject(v)),
};
const BASELINE = 'compact (packTuple)';

const ctx = { receiverId: 'a', source: '192.0.2.1', transport: 'tcp', hashSourceAddress: true } as const;
const benchLines = Array.from({ length: 200 }, (_, i) =>
  Buffer.from(
    `<134>1 2026-11-23T05:17:24.${String(i % 1000).padStart(3, '0')}Z host-01.example.net benchapp 4242 ID47 - bench=c18c3dcb:m:0:${i} lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore`,
  ),
);
const frames = [...loadCorpus().map(entryBytes), ...benchLines];
const now = new Date();

/** Child: ns per frame (parse + encode) over one round with one encoder. */
function runChild(name: string): void {
  const encode = ENCODERS[name]!;
  let bytes = 0;
  for (const f of frames) {
    const { values } = syslogBodyValues(f, ctx, now);
    const body = encode(values);
    bytes += body.length;
    assert.deepEqual(decodeBody(body), expandCompactBody(values), `${name} round-trips`);
  }
  let sink = 0;
  let n = 0;
  const warm = process.hrtime.bigint() + 200_000_000n;
  while (process.hrtime.bigint() < warm)
    for (const f of frames) sink += encode(syslogBodyValues(f, ctx, now).values).length;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ROUND_MS) * 1_000_000n;
  let t = t0;
  while (t < end) {
    for (const f of frames) sink += encode(syslogBodyValues(f, ctx, now).values).length;
    n += frames.length;
    t = process.hrtime.bigint();
  }
  process.stdout.write(JSON.stringify({ ns: Number(t - t0) / n, bytesPerBody: bytes / frames.length, sink }) + '\n');
}

function main(): void {
  const names = Object.keys(ENCODERS);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const sizes: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      const out = execFileSync(process.execPath, [SELF, name], { encoding: 'utf8', env: { ...process.env } });
      const r = JSON.parse(out) as { ns: number; bytesPerBody: number };
      samples[name]!.push(r.ns);
      sizes[name] = r.bytesPerBody;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples[BASELINE]!);
  process.stdout.write(`body                     parse+encode ns/frame   vs compact   bytes/body\n`);
  for (const n of names) {
    const d = median(samples[n]!) - base;
    process.stdout.write(
      `${n.padEnd(24)} ${median(samples[n]!).toFixed(0).padStart(10)}   ${(d >= 0 ? '+' : '') + d.toFixed(0)} ns`.padEnd(
        52,
      ) + `${sizes[n]!.toFixed(0).padStart(8)}\n`,
    );
  }
  process.stdout.write(
    `(${frames.length} frames: the corpus and the bench line; ${ROUNDS} rounds, a child process per encoder and round)\n`,
  );
}

if (process.argv[2]) runChild(process.argv[2]);
else main();
