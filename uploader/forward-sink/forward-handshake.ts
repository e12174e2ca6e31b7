import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ForwardAuth } from './forward-sink-config.js';

/**
 * The client side of the Forward v1 handshake, pure (no socket):
 *   server → ['HELO', {nonce, auth, keepalive}]
 *   client → ['PING', self_hostname, salt, sha512_hex(salt + self_hostname + nonce + shared_key), username, sha512_hex(auth + username + password)]
 *   server → ['PONG', ok, reason, server_hostname, sha512_hex(salt + server_hostname + nonce + shared_key)]
 * Peers send nonce and auth salt as raw bytes (bin or str), so values are handled as bytes throughout.
 */
export interface Helo {
  readonly nonce: Buffer;
  /** User-authentication salt; empty when the server does not authenticate users. */
  readonly auth: Buffer;
  /** False when the server closes the connection after each message. */
  readonly keepalive: boolean;
}

export type HandshakeResult = { ok: true } | { ok: false; reason: string };

/** A decoded msgpack str (with `rawStrings`) or bin as bytes; a JS string as its UTF-8 bytes. */
export function bytesOf(value: unknown): Buffer | null {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return null;
}

export function textOf(value: unknown): string | null {
  return bytesOf(value)?.toString('utf8') ?? null;
}

export function isCommand(message: unknown, name: string): message is unknown[] {
  return Array.isArray(message) && textOf(message[0]) === name;
}

export function parseHelo(message: unknown): Helo | null {
  if (!isCommand(message, 'HELO') || message.length !== 2) return null;
  const opts = message[1];
  if (opts !== null && (typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Uint8Array)) return null;
  const o = (opts ?? {}) as Record<string, unknown>;
  const nonce = bytesOf(o.nonce) ?? Buffer.alloc(0);
  const auth = bytesOf(o.auth) ?? Buffer.alloc(0);
  return { nonce, auth, keepalive: o.keepalive !== false };
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

function sha512Hex(...parts: (string | Buffer)[]): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function buildPing(helo: Helo, auth: ForwardAuth, salt: string): unknown[] {
  const keyDigest = sha512Hex(salt, auth.selfHostname, helo.nonce, auth.sharedKey);
  const ping: unknown[] = ['PING', auth.selfHostname, salt, keyDigest];
  if (helo.auth.length > 0) ping.push(auth.username, sha512Hex(helo.auth, auth.username, auth.password));
  else ping.push('', '');
  return ping;
}

export function checkPong(message: unknown, helo: Helo, auth: ForwardAuth, salt: string): HandshakeResult {
  if (!isCommand(message, 'PONG') || message.length !== 5) return { ok: false, reason: 'invalid PONG message' };
  const [, authResult, reason, serverHostname, digest] = message;
  if (authResult !== true)
    return { ok: false, reason: `authentication failed: ${textOf(reason) ?? 'no reason given'}` };
  const host = textOf(serverHostname);
  if (host === null) return { ok: false, reason: 'PONG without a server hostname' };
  if (host === auth.selfHostname)
    return { ok: false, reason: 'same hostname on both sides (set uploader.forwardSink.selfHostname)' };
  const expected = Buffer.from(sha512Hex(salt, host, helo.nonce, auth.sharedKey), 'utf8');
  const got = bytesOf(digest);
  if (!got || got.length !== expected.length || !timingSafeEqual(got, expected))
    return { ok: false, reason: 'shared key mismatch' };
  return { ok: true };
}
