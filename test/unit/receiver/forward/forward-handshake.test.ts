import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { parseForwardUsers, ServerHandshake } from '../../../../receiver/forward/handshake.js';

const sha512 = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('forward handshake (HELO, PING, PONG)', () => {
  const config = { sharedKey: 'secret', users: new Map<string, string>(), selfHostname: 'fanin-a' };

  it('sends HELO with a 16-byte binary nonce, an empty auth without users, keepalive true', () => {
    const hs = new ServerHandshake(config);
    const helo = decode(hs.helo()) as [string, { nonce: Uint8Array; auth: unknown; keepalive: boolean }];
    assert.equal(helo[0], 'HELO');
    assert.ok(helo[1].nonce instanceof Uint8Array && helo[1].nonce.length === 16);
    assert.equal(helo[1].auth, '');
    assert.equal(helo[1].keepalive, true);
  });

  it('answers a correct PING with PONG true and the server digest, over the exact bytes (bin salt too)', () => {
    const hs = new ServerHandshake(config);
    for (const salt of ['0123abcd', Buffer.from([1, 2, 3, 0xff])]) {
      const ping = encode(['PING', 'client-host', salt, sha512(salt, 'client-host', hs.nonce, 'secret'), '', '']);
      const result = hs.checkPing(ping);
      assert.equal(result.ok, true);
      assert.deepEqual(decode(result.pong), ['PONG', true, '', 'fanin-a', sha512(salt, 'fanin-a', hs.nonce, 'secret')]);
    }
  });

  it('answers a wrong shared key with PONG false and the reason, byte for byte', () => {
    const hs = new ServerHandshake(config);
    const result = hs.checkPing(encode(['PING', 'h', 'salt', sha512('salt', 'h', hs.nonce, 'wrong'), '', '']));
    assert.equal(result.ok, false);
    // ["PONG", false, "shared_key mismatch", "", ""]
    assert.deepEqual(result.pong, hex('95 a4 504f4e47 c2 b3 7368617265645f6b6579206d69736d61746368 a0 a0'));
  });

  it('answers anything but a PING with PONG false "invalid ping message"', () => {
    const hs = new ServerHandshake(config);
    for (const frame of [encode(['tag', 1, { a: 1 }]), encode(['PING', 'h', 's', 'd']), encode(null)]) {
      const result = hs.checkPing(frame);
      assert.equal(result.ok, false);
      assert.deepEqual(decode(result.pong), ['PONG', false, 'invalid ping message', '', '']);
    }
  });

  it('with users: a binary auth salt in HELO, and the password digest checked', () => {
    const hs = new ServerHandshake({ ...config, users: parseForwardUsers('alice:pw1, bob:p:w2') });
    const helo = decode(hs.helo()) as [string, { auth: Uint8Array }];
    assert.ok(helo[1].auth instanceof Uint8Array && helo[1].auth.length === 16);
    const ping = (user: string, password: string) =>
      encode(['PING', 'h', 's', sha512('s', 'h', hs.nonce, 'secret'), user, sha512(helo[1].auth, user, password)]);
    assert.equal(hs.checkPing(ping('alice', 'pw1')).ok, true);
    assert.equal(hs.checkPing(ping('bob', 'p:w2')).ok, true, 'a password may contain ":"');
    const wrong = hs.checkPing(ping('alice', 'nope'));
    assert.deepEqual(wrong.ok ? null : wrong.reason, 'username/password mismatch');
    assert.equal(hs.checkPing(ping('mallory', 'pw1')).ok, false);
    assert.equal(hs.checkPing(encode(['PING', 'h', 's', sha512('s', 'h', hs.nonce, 'secret'), '', ''])).ok, false);
  });

  it('parses users and refuses malformed entries', () => {
    assert.deepEqual(
      [...parseForwardUsers('a:1,b:2')],
      [
        ['a', '1'],
        ['b', '2'],
      ],
    );
    assert.equal(parseForwardUsers('').size, 0);
    assert.throws(() => parseForwardUsers('alice'), /not user:password/);
    assert.throws(() => parseForwardUsers(':pw'), /not user:password/);
  });
});
