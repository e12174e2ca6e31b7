import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Encoder } from '@msgpack/msgpack';
import { ForwardError } from './forward-errors.js';
import { arrayElementRanges, isArray, rawBytesOf, type ValueRange } from './msgpack-scanner.js';

/**
 * The Forward handshake (spec v1 "Handshake Messages"), server side, as fluentd in_forward answers it:
 *
 *   server  ['HELO', {nonce: bin(16), auth: bin(16) salt | '', keepalive: true}]
 *   client  ['PING', client_hostname, shared_key_salt, sha512_hex(salt + client_hostname + nonce + shared_key),
 *            username | '', sha512_hex(auth_salt + username + password) | '']
 *   server  ['PONG', true, '', server_hostname, sha512_hex(salt + server_hostname + nonce + shared_key)]
 *        or ['PONG', false, reason, '', ''] and the connection is closed after the write
 *
 * `auth` is a salt only when users are configured (fluent-logger only sends credentials for a non-empty binary
 * salt). Digests are compared in constant time. The salt and hostname enter the hashes as the exact bytes received.
 */
export interface HandshakeConfig {
  readonly sharedKey: string;
  /** username → password; empty: no user authentication. */
  readonly users: ReadonlyMap<string, string>;
  /** Our name in PONG. Must differ from every client's own name (clients refuse a PONG with their own name). */
  readonly selfHostname: string;
}

export type PingResult =
  { readonly ok: true; readonly pong: Buffer } | { readonly ok: false; readonly reason: string; readonly pong: Buffer };

const encoder = new Encoder();
const encode = (value: unknown): Buffer => {
  const bytes = encoder.encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** Parses `user:pass,user2:pass2` (a password may contain `:`; names and passwords may not contain `,`). */
export function parseForwardUsers(spec: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = item.indexOf(':');
    if (colon <= 0 || colon === item.length - 1) throw new Error(`"${item.replace(/:.*/, ':…')}" is not user:password`);
    users.set(item.slice(0, colon), item.slice(colon + 1));
  }
  return users;
}

/** One connection's handshake: its nonce and salt, the HELO to send, and the PING check. */
export class ServerHandshake {
  readonly nonce = randomBytes(16);
  readonly authSalt: Buffer | null;

  constructor(private readonly config: HandshakeConfig) {
    this.authSalt = config.users.size > 0 ? randomBytes(16) : null;
  }

  helo(): Buffer {
    return encode(['HELO', { nonce: this.nonce, auth: this.authSalt ?? '', keepalive: true }]);
  }

  /** Checks a PING frame; the answer is the PONG to write (then close, when not ok). */
  checkPing(frame: Uint8Array): PingResult {
    const fail = (reason: string): PingResult => ({ ok: false, reason, pong: encode(['PONG', false, reason, '', '']) });
    let fields: Uint8Array[];
    try {
      fields = pingFields(frame);
    } catch {
      return fail('invalid ping message');
    }
    const [hostname, salt, digest, username, passwordDigest] = fields as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const expected = sha512Hex(salt, hostname, this.nonce, this.config.sharedKey);
    if (!sameDigest(digest, expected)) return fail('shared_key mismatch');
    if (this.authSalt !== null) {
      const name = Buffer.from(username).toString('utf8');
      const password = this.config.users.get(name);
      // An unknown user is compared against a throwaway digest, so timing does not tell which names exist.
      const userExpected = sha512Hex(this.authSalt, username, password ?? randomBytes(16).toString('hex'));
      if (!sameDigest(passwordDigest, userExpected) || password === undefined)
        return fail('username/password mismatch');
    }
    const selfHostname = this.config.selfHostname;
    return {
      ok: true,
      pong: encode(['PONG', true, '', selfHostname, sha512Hex(salt, selfHostname, this.nonce, this.config.sharedKey)]),
    };
  }
}

/** A PING's five string fields as raw bytes (str or bin), or throws. */
function pingFields(frame: Uint8Array): Uint8Array[] {
  const whole: ValueRange = { start: 0, end: frame.byteLength };
  if (!isArray(frame, whole)) throw new ForwardError('HANDSHAKE_FAILED', 'PING is not an array');
  const parts = arrayElementRanges(frame, 0, frame.byteLength, 4)!;
  if (parts.length !== 6) throw new ForwardError('HANDSHAKE_FAILED', 'PING has not 6 elements');
  const raw = parts.map((r) => rawBytesOf(frame, r));
  if (raw.some((r) => r === null) || Buffer.from(raw[0]!).toString('latin1') !== 'PING') {
    throw new ForwardError('HANDSHAKE_FAILED', 'not a PING');
  }
  return raw.slice(1) as Uint8Array[];
}

function sha512Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function sameDigest(received: Uint8Array, expectedHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'latin1');
  const got = Buffer.from(received);
  // timingSafeEqual needs equal lengths; a wrong length still costs one full comparison.
  return timingSafeEqual(got.length === expected.length ? got : expected, expected) && got.length === expected.length;
}
