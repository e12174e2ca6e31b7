import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../shared/config/settings.js';

export interface LocalTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export type LocalTlsResult = { ok: true; files: LocalTlsFiles; created: boolean } | { ok: false; reason: string };

/**
 * What the local fleet's syslog TLS ports use, and the line `fanin up` prints about it: the operator's certificate
 * (FANIN_RECEIVER_TLS_* settings, inherited by the receivers), else a self-signed one in data/tls, else TLS off.
 */
export function fleetTls(config: Config): { tls: LocalTlsFiles | 'configured' | null; note: string | null } {
  if (config.syslogTlsPort === 0) return { tls: null, note: 'syslog TLS off (receiver.syslogTlsPort=0)' };
  if (config.tlsCertFile !== '') return { tls: 'configured', note: null };
  const generated = ensureLocalTlsCertificate(resolve('data/tls'));
  if (!generated.ok) {
    return {
      tls: null,
      note: `syslog TLS off: ${generated.reason} (it makes the local fleet's self-signed certificate; or set FANIN_RECEIVER_TLS_CERT_FILE and FANIN_RECEIVER_TLS_KEY_FILE)`,
    };
  }
  return {
    tls: generated.files,
    note: `syslog TLS uses the self-signed ${generated.files.certFile}${generated.created ? ' (just created)' : ''}`,
  };
}

/** Renewed when it has less left than this. */
const MIN_VALIDITY_MS = 7 * 24 * 3600 * 1000;

/**
 * A self-signed certificate for the local fleet's syslog TLS ports, so `fanin up` serves TLS out of the box. Node can
 * use X.509 certificates but cannot create them, so this runs `openssl req -x509` when openssl is installed; without
 * it the caller leaves TLS off and says why. The pair is kept in `dir` and reused while valid; production receivers
 * get their certificate from receiver.tlsCertFile and receiver.tlsKeyFile instead.
 */
export function ensureLocalTlsCertificate(dir: string): LocalTlsResult {
  const files = { certFile: join(dir, 'fleet-cert.pem'), keyFile: join(dir, 'fleet-key.pem') };
  if (isUsablePair(files)) return { ok: true, files, created: false };
  mkdirSync(dir, { recursive: true });
  // Two fleets starting at once may both generate: each writes its own temporary pair, renames it into place, and
  // checks that the pair it reads back matches; a mixed pair is generated again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = { certFile: `${files.certFile}.${process.pid}.tmp`, keyFile: `${files.keyFile}.${process.pid}.tmp` };
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '365',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
          '-keyout',
          tmp.keyFile,
          '-out',
          tmp.certFile,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
      );
    } catch (err) {
      rmSync(tmp.keyFile, { force: true });
      rmSync(tmp.certFile, { force: true });
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') return { ok: false, reason: 'openssl is not installed' };
      return { ok: false, reason: `openssl failed: ${e.stderr?.toString().trim() || e.message}` };
    }
    chmodSync(tmp.keyFile, 0o600);
    renameSync(tmp.keyFile, files.keyFile);
    renameSync(tmp.certFile, files.certFile);
    if (isUsablePair(files)) return { ok: true, files, created: true };
  }
  return { ok: false, reason: `could not write a matching certificate and key to ${dir}` };
}

function isUsablePair(files: LocalTlsFiles): boolean {
  try {
    const cert = new X509Certificate(readFileSync(files.certFile));
    return (
      Date.parse(cert.validTo) - Date.now() > MIN_VALIDITY_MS &&
      cert.checkPrivateKey(createPrivateKey(readFileSync(files.keyFile)))
    );
  } catch {
    return false;
  }
}
