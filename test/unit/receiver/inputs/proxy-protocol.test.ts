import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeProxyHeader,
  encodeProxyV1,
  encodeProxyV2,
  ProxyProtocolError,
  V1_MAX_BYTES,
  V2_MAX_BYTES,
  type ProxyMode,
} from '../../../../receiver/inputs/proxy-protocol.js';

const PAYLOAD = Buffer.from('<34>1 2024-01-01T00:00:00Z host app - - - after the header\n');
const dst = { address: '10.0.0.9', port: 5514 };

/** Feeds `bytes` as the first bytes of a connection cut at `cut`: the prefix must be incomplete, the whole a header. */
function decodeSplit(bytes: Buffer, headerBytes: number, mode: ProxyMode, cut: number) {
  const prefix = bytes.subarray(0, cut);
  if (cut < headerBytes)
    assert.deepEqual(decodeProxyHeader(prefix, mode), { status: 'incomplete' }, `cut at ${cut} of ${headerBytes}`);
  const whole = decodeProxyHeader(bytes, mode);
  assert.equal(whole.status, 'done');
  return whole;
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProxyProtocolError, String(err));
    return err.code;
  }
  return 'no error';
};

describe('PROXY protocol codec', () => {
  const cases = [
    {
      name: 'v1 TCP4',
      header: encodeProxyV1({ address: '192.0.2.7', port: 40001 }, dst),
      source: { address: '192.0.2.7', port: 40001 },
      version: 1,
    },
    {
      name: 'v1 TCP6',
      header: Buffer.from('PROXY TCP6 2001:DB8:0:0::7 2001:db8::1 65535 514\r\n'),
      source: { address: '2001:db8::7', port: 65535 },
      version: 1,
    },
    {
      name: 'v1 TCP6 IPv4-mapped',
      header: Buffer.from('PROXY TCP6 ::ffff:192.0.2.8 ::1 1 2\r\n'),
      source: { address: '192.0.2.8', port: 1 },
      version: 1,
    },
    {
      name: 'v1 UNKNOWN',
      header: Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'),
      source: null,
      version: 1,
    },
    {
      name: 'v2 INET',
      header: encodeProxyV2({ address: '198.51.100.3', port: 61000 }, dst),
      source: { address: '198.51.100.3', port: 61000 },
      version: 2,
    },
    {
      name: 'v2 INET6',
      header: encodeProxyV2({ address: '2001:db8::42', port: 443 }, { address: '2001:db8::1', port: 6514 }),
      source: { address: '2001:db8::42', port: 443 },
      version: 2,
    },
    {
      name: 'v2 INET6 IPv4-mapped',
      header: encodeProxyV2({ address: '::ffff:c633:6404', port: 9 }, { address: '::1', port: 1 }),
      source: { address: '198.51.100.4', port: 9 },
      version: 2,
    },
    // TLVs (here PP2_TYPE_AUTHORITY "example.org" and a NOOP) are inside the declared length and skipped.
    {
      name: 'v2 INET with TLVs',
      header: encodeProxyV2(
        { address: '203.0.113.5', port: 1234 },
        dst,
        Buffer.from([0x02, 0x00, 0x0b, ...Buffer.from('example.org'), 0x04, 0x00, 0x01, 0x00]),
      ),
      source: { address: '203.0.113.5', port: 1234 },
      version: 2,
    },
    { name: 'v2 LOCAL (health check)', header: encodeProxyV2(null, null), source: null, version: 2 },
  ] as const;

  for (const c of cases) {
    it(`${c.name}: incomplete at every byte boundary, then the sender and the exact header length`, () => {
      const bytes = Buffer.concat([c.header, PAYLOAD]);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const r = decodeSplit(bytes, c.header.length, 'any', cut);
        if (r.status !== 'done') continue;
        assert.equal(r.headerBytes, c.header.length);
        assert.equal(r.version, c.version);
        assert.deepEqual(r.source, c.source);
        assert.deepEqual(
          bytes.subarray(r.headerBytes),
          PAYLOAD,
          "what follows the header is the sender's stream, untouched",
        );
      }
      const only = c.version === 1 ? 'v1' : 'v2';
      assert.equal(decodeProxyHeader(bytes, only).status, 'done', `${only} alone takes it`);
      assert.equal(
        code(() => decodeProxyHeader(bytes, c.version === 1 ? 'v2' : 'v1')),
        'PROXY_VERSION_REFUSED',
      );
    });
  }

  it('a v2 header is taken whatever the split and whatever follows it (property)', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.integer({ min: 0, max: 65535 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        (address, port, tlv, payload, cutSeed) => {
          const header = encodeProxyV2({ address, port }, dst, tlv);
          const bytes = Buffer.concat([header, payload]);
          const cut = cutSeed % header.length;
          assert.deepEqual(decodeProxyHeader(bytes.subarray(0, cut), 'any'), { status: 'incomplete' });
          const r = decodeProxyHeader(bytes, 'any');
          assert.ok(
            r.status === 'done' &&
              r.headerBytes === header.length &&
              r.source?.address === address &&
              r.source.port === port,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a connection that starts with anything but a header, as soon as a byte says so', () => {
    assert.equal(
      code(() => decodeProxyHeader(Buffer.from('<34>1 2024'), 'any')),
      'PROXY_MISSING',
    );
    assert.equal(
      code(() => decodeProxyHeader(Buffer.from('PROXZ'), 'any')),
      'PROXY_MISSING',
    );
    assert.equal(
      code(() => decodeProxyHeader(Buffer.from([0x16, 0x03, 0x01]), 'any')),
      'PROXY_MISSING',
      'a TLS ClientHello',
    );
    assert.equal(
      code(() => decodeProxyHeader(Buffer.from('POST /app HTTP/1.1\r\n'), 'v1')),
      'PROXY_MISSING',
    );
    assert.equal(
      code(() => decodeProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]), 'any')),
      'PROXY_MISSING',
    );
  });

  it('refuses malformed v1 lines', () => {
    for (const line of [
      'PROXY TCP4 192.0.2.1 10.0.0.1 1 2\n', // LF without CR
      'PROXY TCP4 192.0.2.1 10.0.0.1 1\r\n',
      'PROXY TCP4 192.0.2.1  10.0.0.1 1 2\r\n',
      'PROXY TCP5 192.0.2.1 10.0.0.1 1 2\r\n',
      'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n',
      'PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n',
      'PROXY TCP4 192.0.2.1 10.0.0.1 65536 2\r\n',
      'PROXY TCP4 192.0.2.1 10.0.0.1 01 2\r\n',
      'PROXY TCP4 192.0.2.1 10.0.0.1 -1 2\r\n',
    ])
      assert.equal(
        code(() => decodeProxyHeader(Buffer.from(line), 'any')),
        'PROXY_MALFORMED',
        JSON.stringify(line),
      );
  });

  it('bounds the header: a v1 line without CRLF in 107 bytes, a v2 length past the bound', () => {
    const long = Buffer.from('PROXY TCP4 ' + '1'.repeat(V1_MAX_BYTES));
    assert.equal(decodeProxyHeader(long.subarray(0, V1_MAX_BYTES - 1), 'any').status, 'incomplete');
    assert.equal(
      code(() => decodeProxyHeader(long.subarray(0, V1_MAX_BYTES), 'any')),
      'PROXY_TOO_LARGE',
    );
    const big = encodeProxyV2({ address: '192.0.2.1', port: 1 }, dst, Buffer.alloc(V2_MAX_BYTES));
    // Refused from its 16 fixed bytes: the receiver never waits for (or buffers) the declared TLVs.
    assert.equal(
      code(() => decodeProxyHeader(big.subarray(0, 16), 'any')),
      'PROXY_TOO_LARGE',
    );
  });

  it('refuses malformed v2 headers: version, command, family, a length shorter than its addresses', () => {
    const good = encodeProxyV2({ address: '192.0.2.1', port: 1 }, dst);
    const patched = (at: number, value: number) => {
      const b = Buffer.from(good);
      b[at] = value;
      return b;
    };
    assert.equal(
      code(() => decodeProxyHeader(patched(12, 0x11), 'any')),
      'PROXY_MALFORMED',
      'version 1 in a v2 header',
    );
    assert.equal(
      code(() => decodeProxyHeader(patched(12, 0x22), 'any')),
      'PROXY_MALFORMED',
      'command 2',
    );
    assert.equal(
      code(() => decodeProxyHeader(patched(13, 0x41), 'any')),
      'PROXY_MALFORMED',
      'family 4',
    );
    assert.equal(
      code(() => decodeProxyHeader(patched(15, 4), 'any')),
      'PROXY_MALFORMED',
      'INET with 4 address bytes',
    );
  });
});
