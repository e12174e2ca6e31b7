import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisProcess } from '../../../chaos/redis-process.js';
import { freePort } from '../../../testkit/free-ports.js';
import { AMQP_URL } from '../../../testkit/services.js';

const preflight = fileURLToPath(new URL('../../../cli/preflight.js', import.meta.url));

/** fanin up's Redis check in a fresh process, so NODE_EXTRA_CA_CERTS (read at start) can name the test's CA. */
function checkInChild(redisUrl: string, extraCa?: string): Promise<string[]> {
  const code = `const { checkDependencies } = await import(${JSON.stringify(preflight)});
    process.stdout.write(JSON.stringify(await checkDependencies(${JSON.stringify(AMQP_URL)}, ${JSON.stringify(redisUrl)})));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { timeout: 20_000, env: { ...process.env, ...(extraCa ? { NODE_EXTRA_CA_CERTS: extraCa } : {}) } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message} ${stderr}`));
        else resolve(JSON.parse(stdout) as string[]);
      },
    );
  });
}

/** rediss://: a private Redis that speaks only TLS and wants a password. */
describe('rediss:// against a real TLS-only Redis', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-redis-tls-'));
  const cert = join(dir, 'cert.pem');
  let redis: RedisProcess;
  let port = 0;
  before(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    port = await freePort();
    redis = new RedisProcess(join(dir, 'redis'), port, [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      join(dir, 'key.pem'),
      '--tls-ca-cert-file',
      cert,
      '--tls-auth-clients',
      'no',
      '--requirepass',
      's3cret',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await redis.start();
  });
  after(async () => {
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects over TLS with the password when the CA is trusted', async () => {
    assert.deepEqual(await checkInChild(`rediss://:s3cret@127.0.0.1:${port}`, cert), []);
  });

  it('a wrong password is named as a refused login, without the password', async () => {
    const [problem] = await checkInChild(`rediss://:wrong@127.0.0.1:${port}`, cert);
    assert.match(problem ?? '', /refused the login.*FANIN_REDIS_URL/);
    assert.doesNotMatch(problem ?? '', /wrong@/);
  });

  it('an untrusted certificate fails the check; plain redis:// to a TLS port fails too', async () => {
    assert.equal((await checkInChild(`rediss://:s3cret@127.0.0.1:${port}`)).length, 1);
    assert.equal((await checkInChild(`redis://:s3cret@127.0.0.1:${port}`, cert)).length, 1);
  });
});
