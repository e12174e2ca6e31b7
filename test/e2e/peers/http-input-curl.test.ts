import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { makeTestCertificates } from '../../support/test-certs.js';

/**
 * The HTTP input of a real receiver over HTTPS (receiver.httpTls, the receiver's certificate), driven by curl as users
 * drive it: form fields from files, gzip bodies from files, retries on 5xx. What lands is read back from `<ns>.new`.
 */
describe('HTTP input with curl over HTTPS', () => {
  let r: InProcessReceiver;
  let base: string;
  let dir: string;
  const pki = makeTestCertificates();

  before(async () => {
    const [http] = (await freePorts(1)) as [number];
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_HTTP_PORT: String(http),
      FANIN_RECEIVER_HTTP_TLS: 'true',
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
      FANIN_RECEIVER_TLS_CERT_FILE: pki.server.cert,
      FANIN_RECEIVER_TLS_KEY_FILE: pki.server.key,
      FANIN_RECEIVER_HTTP_MAX_DECOMPRESSED_BYTES: String(64 * 1024),
    });
    base = `https://localhost:${http}`;
    dir = mkdtempSync(join(tmpdir(), 'fanin-curl-'));
  });
  after(async () => {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const marker = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
  const file = (name: string, bytes: Uint8Array | string) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  /** Runs curl against the receiver (trusting the test CA); returns the HTTP status and the body. */
  const curl = async (path: string, args: string[]) => {
    const { stdout } = await promisify(execFile)(
      'curl',
      ['-sS', '--cacert', pki.caFile, '-w', '\n%{http_code}', ...args, `${base}${path}`],
      { timeout: 20_000 },
    );
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  };

  it('curl --data-urlencode "msgpack@file": bytes >= 0x80 (array and map headers, bin, UTF-8) arrive exact', async () => {
    const m = marker('curl-msgpack');
    const records = [
      { message: `${m} ä`, bin: Buffer.from('bïnary'), n: -300, f: 1.5 },
      { message: `${m} 2`, list: [1, 'zwei', null] },
    ];
    const bytes = encode(records);
    assert.ok(bytes.some((b) => b >= 0x80));
    const res = await curl('/app.curl', ['--data-urlencode', `msgpack@${file('records.msgpack', bytes)}`]);
    assert.equal(res.status, 200, res.body);
    const landed = await r.settled(m, 2);
    assert.deepEqual(
      landed.map((e) => e.record),
      [{ ...records[0], bin: 'bïnary' }, records[1]],
    );
    for (const e of landed)
      assert.equal(e.time, new Date(e.received_at).toISOString(), 'no time parameter: the receipt time');
  });

  it('curl --data-binary @file.gz -H "Content-Encoding: gzip": taken; a body inflating past the bound gets 413', async () => {
    const m = marker('curl-gzip');
    const ndjson = [1, 2, 3].map((i) => JSON.stringify({ message: `${m} ${i}` })).join('\n');
    const res = await curl('/app.gz', [
      '--data-binary',
      `@${file('events.ndjson.gz', gzipSync(ndjson))}`,
      '-H',
      'Content-Encoding: gzip',
      '-H',
      'Content-Type: application/x-ndjson',
    ]);
    assert.equal(res.status, 200, res.body);
    assert.equal((await r.settled(m, 3)).length, 3);
    const bomb = file('bomb.json.gz', gzipSync(JSON.stringify({ message: 'b'.repeat(200 * 1024) })));
    const refused = await curl('/app.gz', [
      '--data-binary',
      `@${bomb}`,
      '-H',
      'Content-Encoding: gzip',
      '-H',
      'Content-Type: application/json',
    ]);
    assert.equal(refused.status, 413);
    assert.match(refused.body, /inflates to more than 65536 bytes/);
  });

  it('curl --retry on a request with a record 100 levels deep: 400 naming it, no retry, nothing of the request lands', async () => {
    const m = marker('curl-deep');
    let deep: unknown = { message: `${m} deep` };
    for (let i = 0; i < 99; i++) deep = { deep };
    const body = JSON.stringify([{ message: `${m} first` }, { message: `${m} second` }, deep]);
    const res = await curl('/app.deep', [
      '--retry',
      '3',
      '--retry-delay',
      '0',
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      `@${file('deep.json', body)}`,
    ]);
    assert.equal(res.status, 400);
    assert.match(res.body, /record 2 is nested deeper than 64 levels/);
    const ok = marker('curl-after');
    assert.equal(
      (
        await curl('/app.deep', [
          '-H',
          'Content-Type: application/json',
          '--data-binary',
          JSON.stringify({ message: ok }),
        ])
      ).status,
      200,
    );
    await r.settled(ok, 1);
    assert.equal(r.landed(m).length, 0, 'the records before the deep one were not published');
  });
});
