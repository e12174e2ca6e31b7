import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** The CA the receiver trusts for client certificates, and senders trust for the server's. */
  readonly caFile: string;
  /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by the CA. */
  readonly server: CertPair;
  /** A client certificate signed by the CA. */
  readonly client: CertPair;
  /** A client certificate signed by another CA, which the receiver must refuse. */
  readonly rogueClient: CertPair;
}

/**
 * A throw-away PKI made with openssl in a temporary directory: CA, server, client, and a client of a rogue CA. The
 * extensions are spelled out (CA:TRUE with keyCertSign on the CAs; serverAuth / clientAuth on the leaves), because
 * GnuTLS (rsyslog's gtls driver) refuses certificates that OpenSSL and Node would let pass.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-pki-'));
  const path = (name: string) => join(dir, name);
  writeFileSync(
    path('openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = placeholder',
      '[ca_ext]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost,IP:127.0.0.1',
      'authorityKeyIdentifier = keyid',
      '[client_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectAltName = DNS:fanin-test-client',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const makeCa = (name: string): CertPair => {
    const pair = { cert: path(`${name}.pem`), key: path(`${name}-key.pem`) };
    openssl([
      'req',
      '-x509',
      '-config',
      path('openssl.cnf'),
      '-extensions',
      'ca_ext',
      ...newKey,
      '-days',
      '3',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      pair.key,
      '-out',
      pair.cert,
    ]);
    return pair;
  };
  const makeLeaf = (name: string, cn: string, ext: string, ca: CertPair): CertPair => {
    const pair = { cert: path(`${name}.pem`), key: path(`${name}-key.pem`) };
    openssl([
      'req',
      '-new',
      '-config',
      path('openssl.cnf'),
      ...newKey,
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      pair.key,
      '-out',
      path(`${name}.csr`),
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      path('openssl.cnf'),
      '-extensions',
      ext,
      '-out',
      pair.cert,
    ]);
    return pair;
  };
  const ca = makeCa('fanin-test-ca');
  const rogue = makeCa('rogue-ca');
  return {
    dir,
    caFile: ca.cert,
    server: makeLeaf('server', 'localhost', 'server_ext', ca),
    client: makeLeaf('client', 'fanin-test-client', 'client_ext', ca),
    rogueClient: makeLeaf('rogue-client', 'fanin-test-client', 'client_ext', rogue),
  };
}
