import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../../shared/config/config-error.js';

export interface TlsFileSettings {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly requireClientCert: boolean;
}

export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA certificates client certificates must chain to; only with requireClientCert. */
  readonly ca: Buffer | undefined;
  /** Of the first certificate of `cert`, for the start-up log line. */
  readonly subject: string;
  readonly validTo: Date;
}

/**
 * Reads and checks the TLS listener's files once at start-up. A misconfiguration (a certificate without its key,
 * an unreadable file, a key that does not match, mutual TLS without a CA) stops the receiver with an error that
 * names the setting, rather than a listener that fails every handshake.
 */
export function loadTlsCredentials(s: TlsFileSettings): TlsCredentials {
  const problems: string[] = [];
  if (s.keyFile === '')
    problems.push('receiver.tlsKeyFile (FANIN_RECEIVER_TLS_KEY_FILE): required with receiver.tlsCertFile');
  if (s.requireClientCert && s.caFile === '') {
    problems.push(
      'receiver.tlsCaFile (FANIN_RECEIVER_TLS_CA_FILE): required with receiver.tlsRequireClientCert, it names the CAs client certificates must chain to',
    );
  }
  const read = (path: string, key: string): Buffer | undefined => {
    if (path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`${key}: cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const cert = read(s.certFile, 'receiver.tlsCertFile');
  const key = read(s.keyFile, 'receiver.tlsKeyFile');
  const ca = s.requireClientCert ? read(s.caFile, 'receiver.tlsCaFile') : undefined;
  if (problems.length > 0 || cert === undefined || key === undefined) throw new ConfigError(problems);
  let first: X509Certificate;
  try {
    first = new X509Certificate(cert);
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new ConfigError([`receiver.tlsCertFile, receiver.tlsKeyFile, receiver.tlsCaFile: ${(err as Error).message}`]);
  }
  return { cert, key, ca, subject: first.subject.replace(/\n/g, ', '), validTo: new Date(first.validTo) };
}
