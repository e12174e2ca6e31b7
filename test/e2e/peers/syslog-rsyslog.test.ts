// fanin's parse of the corpus against rsyslog's own: every field that differs must be one of the deliberate
// differences listed in test/fixtures/syslog/DIFFERENCES.md.
//
// Where rsyslogd is installed, the corpus goes through a real rsyslog (imtcp on a private port, octet-counted
// frames, %jsonmesg% to a file). Where it is not, the comparison runs against rsyslog's parse recorded from such
// a run (test/fixtures/syslog/rsyslog-parse.jsonl), so the test compares either way. Set
// FANIN_RECORD_RSYSLOG=1 with rsyslogd installed to re-record it after changing the corpus.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSyslog } from '../../../receiver/syslog/parse-syslog.js';
import { entryBytes, loadCorpus } from '../../../testkit/syslog-corpus.js';
import {
  compareWithRsyslog,
  fromJsonmesg,
  type Difference,
  type RsyslogParse,
} from '../../support/syslog-rsyslog-compare.js';

const SNAPSHOT = new URL('../../../../test/fixtures/syslog/rsyslog-parse.jsonl', import.meta.url);

interface Snapshot {
  rsyslogVersion: string;
  recordedAt: string;
  records: RsyslogParse[];
}

const corpus = loadCorpus();
const rsyslogVersion = detectRsyslog();

describe('syslog corpus compared with rsyslog', () => {
  it(`every difference from rsyslog's parse is a documented one (${rsyslogVersion === null ? 'recorded rsyslog parse' : `live ${rsyslogVersion}`})`, async (t) => {
    const snapshot = rsyslogVersion === null ? readSnapshot() : await runRsyslog(rsyslogVersion);
    if (rsyslogVersion !== null && process.env.FANIN_RECORD_RSYSLOG === '1') writeSnapshot(snapshot);
    assert.equal(
      snapshot.records.length,
      corpus.length,
      'one rsyslog record per corpus line (re-record after changing the corpus)',
    );

    const nowMs = Date.parse(snapshot.recordedAt);
    const counts = new Map<string, number>();
    const unexplained: string[] = [];
    corpus.forEach((entry, i) => {
      const bytes = entryBytes(entry);
      const rs = snapshot.records[i]!;
      assert.equal(
        rs.rawPrefix,
        bytes.toString('utf8').slice(0, rs.rawPrefix.length),
        `record ${i} is for corpus line ${i}`,
      );
      // Options as rsyslog ran: its default zone (UTC here) and the receive time of the run.
      const fanin = parseSyslog(bytes, { now: new Date(nowMs) });
      for (const d of compareWithRsyslog(bytes.toString('latin1'), fanin, rs, nowMs)) {
        counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
        if (d.reason === 'UNEXPLAINED')
          unexplained.push(`#${i} ${d.field}: fanin ${show(d)} | ${(entry.line ?? '').slice(0, 90)}`);
      }
    });
    const same = corpus.length - new Set(unexplained.map((u) => u.split(' ')[0])).size;
    t.diagnostic(`differences by reason: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);
    assert.deepEqual(unexplained, [], `${unexplained.length} unexplained differences (${same} lines fine)`);
    assert.ok(counts.size > 0, 'the comparison found the documented differences');
  });

  it('the recorded rsyslog parse matches the corpus', () => {
    const snapshot = readSnapshot();
    assert.match(snapshot.rsyslogVersion, /^rsyslogd /);
    assert.equal(snapshot.records.length, corpus.length);
    corpus.forEach((entry, i) => {
      const prefix = snapshot.records[i]!.rawPrefix;
      assert.equal(prefix, entryBytes(entry).toString('utf8').slice(0, prefix.length), `record ${i}`);
    });
  });
});

function show(d: Difference): string {
  return `${JSON.stringify(d.fanin)} rsyslog ${JSON.stringify(d.rsyslog)}`;
}

function detectRsyslog(): string | null {
  const r = spawnSync('rsyslogd', ['-v'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return null;
  // 'rsyslogd  8.2302.0 (aka 2023.02) compiled with:' -> 'rsyslogd 8.2302.0'
  return r.stdout
    .split('\n')[0]!
    .replace(/\(aka.*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function readSnapshot(): Snapshot {
  assert.ok(existsSync(SNAPSHOT), 'test/fixtures/syslog/rsyslog-parse.jsonl exists');
  const [head, ...rest] = readFileSync(SNAPSHOT, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const meta = JSON.parse(head!) as { rsyslogVersion: string; recordedAt: string };
  return { ...meta, records: rest.map((l) => JSON.parse(l) as RsyslogParse) };
}

function writeSnapshot(s: Snapshot): void {
  const lines = [
    JSON.stringify({ rsyslogVersion: s.rsyslogVersion, recordedAt: s.recordedAt }),
    ...s.records.map((r) => JSON.stringify(r)),
  ];
  writeFileSync(SNAPSHOT, `${lines.join('\n')}\n`);
}

/** Runs rsyslogd with a private configuration, feeds it the corpus over TCP and reads back its %jsonmesg%. */
async function runRsyslog(version: string): Promise<Snapshot> {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-rsyslog-'));
  const out = join(dir, 'out.jsonl');
  const portFile = join(dir, 'port');
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    [
      // No DNS (a missing HOSTNAME shows as the sender's address) and control characters kept as sent.
      `global(workDirectory="${dir}" net.enableDNS="off" parser.escapeControlCharactersOnReceive="off")`,
      'module(load="imtcp")',
      `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}")`,
      'template(name="jsonmesg" type="string" string="%jsonmesg%\\n")',
      `action(type="omfile" file="${out}" template="jsonmesg")`,
    ].join('\n'),
  );
  // TZ=UTC: rsyslog reads zone-less stamps in its local zone, fanin (by default) in UTC.
  const child = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const port = Number(
      await poll(
        () => (existsSync(portFile) ? readFileSync(portFile, 'utf8').trim() || undefined : undefined),
        'rsyslogd port',
        () => stderr,
      ),
    );
    const recordedAt = new Date().toISOString();
    await send(port, corpus.map(entryBytes));
    const text = await poll(
      () => {
        const s = existsSync(out) ? readFileSync(out, 'utf8') : '';
        return s.split('\n').filter((l) => l !== '').length >= corpus.length ? s : undefined;
      },
      'rsyslog output',
      () => stderr,
    );
    const records = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => fromJsonmesg(JSON.parse(l) as Record<string, string | null>));
    return { rsyslogVersion: version, recordedAt, records };
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One connection, octet-counted frames (RFC 6587), so every byte of every line reaches rsyslog as sent. */
function send(port: number, frames: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(Buffer.concat(frames.flatMap((f) => [Buffer.from(`${f.length} `), f])), () => resolve());
    });
    socket.on('error', reject);
  });
}

async function poll<T>(probe: () => T | undefined, what: string, log: () => string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; rsyslogd said: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
