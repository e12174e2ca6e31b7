import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalTlsCertificate } from '../../../cli/local-tls.js';

describe("the local fleet's self-signed TLS certificate", () => {
  it('is created with openssl for localhost and 127.0.0.1, reused while valid, and remade when the pair does not match', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-local-tls-'));
    try {
      const first = ensureLocalTlsCertificate(dir);
      assert.ok(first.ok && first.created, JSON.stringify(first));
      const cert = new X509Certificate(readFileSync(first.files.certFile));
      assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.equal(statSync(first.files.keyFile).mode & 0o777, 0o600);

      const again = ensureLocalTlsCertificate(dir);
      assert.ok(again.ok && !again.created, 'reused');

      const other = mkdtempSync(join(tmpdir(), 'fanin-local-tls-'));
      const foreign = ensureLocalTlsCertificate(other);
      assert.ok(foreign.ok);
      writeFileSync(first.files.keyFile, readFileSync(foreign.files.keyFile));
      rmSync(other, { recursive: true, force: true });
      const remade = ensureLocalTlsCertificate(dir);
      assert.ok(remade.ok && remade.created, 'a key that does not match the certificate is replaced');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why when openssl is not there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-local-tls-'));
    const path = process.env.PATH;
    process.env.PATH = dir;
    try {
      assert.deepEqual(ensureLocalTlsCertificate(dir), { ok: false, reason: 'openssl is not installed' });
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
