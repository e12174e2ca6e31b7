import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer writes at the start
 * of each connection, naming the sender it accepted the connection from. A pure codec over the bytes received so far:
 * it answers "incomplete", "a header of N bytes", or a typed error, and never touches a socket.
 *
 * Hand-written because the npm parsers looked at (proxy-protocol-js 4.0.6, @balena/proxy-protocol-parser 1.0.2) parse
 * a header already cut out of the stream: neither says where the header ends or whether more bytes are needed, both
 * turn the bytes into a string (corrupting a TLS ClientHello that follows), proxy-protocol-js ignores the v2 length
 * field (TLVs leak into the payload) and neither checks addresses or ports of v1.
 */

/** Which header versions a listener takes: both or one; a connection without a header is always refused. */
export type ProxyMode = 'v1' | 'v2' | 'any';

export interface ProxySource {
  /** As a socket's remoteAddress would show it, IPv4-mapped IPv6 as plain IPv4. */
  readonly address: string;
  readonly port: number;
}

export type ProxyDecode =
  | { readonly status: 'incomplete' }
  | {
      readonly status: 'done';
      /** Bytes of the header; what follows is the sender's own stream. */
      readonly headerBytes: number;
      readonly version: 1 | 2;
      /** null for a header that names no sender (v1 UNKNOWN, v2 LOCAL, UNSPEC or UNIX): the connection's own address stands. */
      readonly source: ProxySource | null;
    };

export const PROXY_ERRORS = {
  PROXY_MISSING: { reason: 'missing' },
  PROXY_MALFORMED: { reason: 'malformed' },
  PROXY_VERSION_REFUSED: { reason: 'version_refused' },
  PROXY_TOO_LARGE: { reason: 'too_large' },
} as const;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

/** A connection whose header is missing or bad. Disposition: always close (the stream has no trustworthy start). */
export class ProxyProtocolError extends Error {
  override readonly name = 'ProxyProtocolError';
  constructor(
    readonly code: ProxyErrorCode,
    message: string,
  ) {
    super(message);
  }
  get reason(): string {
    return PROXY_ERRORS[this.code].reason;
  }
}

/** v1: "PROXY TCP6 " + two longest IPv6 addresses + two ports + CRLF is 107 bytes (the specification's bound). */
export const V1_MAX_BYTES = 107;
/**
 * v2 headers carry a 16-bit length, so up to 64 KiB of TLVs; load balancers send a few hundred bytes at most (HAProxy
 * with SSL TLVs, AWS and GCP ids). The bound keeps a hostile peer from making the receiver buffer 64 KiB per
 * connection before anything is known about it.
 */
export const V2_MAX_BYTES = 4096;

const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;

/** Reads a header from the first bytes of a connection (call again with more bytes while it answers "incomplete"). */
export function decodeProxyHeader(buf: Uint8Array, mode: ProxyMode): ProxyDecode {
  if (startsLike(buf, V2_SIGNATURE)) {
    if (buf.length < V2_SIGNATURE.length) return { status: 'incomplete' };
    if (mode === 'v1')
      throw new ProxyProtocolError('PROXY_VERSION_REFUSED', 'a PROXY v2 header where only v1 is accepted');
    return decodeV2(buf);
  }
  if (startsLike(buf, V1_SIGNATURE)) {
    if (mode !== 'v2') return decodeV1(buf);
    if (buf.length < V1_SIGNATURE.length) return { status: 'incomplete' };
    throw new ProxyProtocolError('PROXY_VERSION_REFUSED', 'a PROXY v1 header where only v2 is accepted');
  }
  throw new ProxyProtocolError('PROXY_MISSING', 'the connection does not start with a PROXY protocol header');
}

/** True when `buf` and `signature` agree on their common length (so a short buffer may still become the signature). */
function startsLike(buf: Uint8Array, signature: Uint8Array): boolean {
  const n = Math.min(buf.length, signature.length);
  for (let i = 0; i < n; i++) if (buf[i] !== signature[i]) return false;
  return true;
}

function decodeV1(buf: Uint8Array): ProxyDecode {
  const limit = Math.min(buf.length, V1_MAX_BYTES);
  let lf = -1;
  for (let i = V1_SIGNATURE.length; i < limit; i++)
    if (buf[i] === 0x0a) {
      lf = i;
      break;
    }
  if (lf === -1) {
    if (buf.length >= V1_MAX_BYTES)
      throw new ProxyProtocolError(
        'PROXY_TOO_LARGE',
        `PROXY v1 header without CRLF in its first ${V1_MAX_BYTES} bytes`,
      );
    return { status: 'incomplete' };
  }
  if (buf[lf - 1] !== 0x0d)
    throw new ProxyProtocolError('PROXY_MALFORMED', 'PROXY v1 header line does not end in CRLF');
  const line = Buffer.from(buf.buffer, buf.byteOffset, lf - 1).toString('latin1');
  const parts = line.split(' ');
  const headerBytes = lf + 1;
  if (parts[1] === 'UNKNOWN') return { status: 'done', headerBytes, version: 1, source: null };
  if (parts.length !== 6)
    throw new ProxyProtocolError('PROXY_MALFORMED', 'PROXY v1 header is not "PROXY TCP4|TCP6 src dst srcport dstport"');
  const [, family, src, dst, srcPort, dstPort] = parts as [string, string, string, string, string, string];
  const valid = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : null;
  if (valid === null)
    throw new ProxyProtocolError(
      'PROXY_MALFORMED',
      `PROXY v1 protocol "${printable(family)}" is not TCP4, TCP6 or UNKNOWN`,
    );
  if (!valid(src) || !valid(dst))
    throw new ProxyProtocolError('PROXY_MALFORMED', `PROXY v1 addresses are not ${family} addresses`);
  const port = v1Port(srcPort);
  if (port === null || v1Port(dstPort) === null)
    throw new ProxyProtocolError('PROXY_MALFORMED', 'PROXY v1 ports are not 0-65535');
  return {
    status: 'done',
    headerBytes,
    version: 1,
    source: { address: family === 'TCP4' ? src : canonicalIPv6(src), port },
  };
}

function v1Port(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function decodeV2(buf: Uint8Array): ProxyDecode {
  if (buf.length < V2_FIXED_BYTES) return { status: 'incomplete' };
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2)
    throw new ProxyProtocolError('PROXY_MALFORMED', `PROXY v2 header has version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1)
    throw new ProxyProtocolError('PROXY_MALFORMED', `PROXY v2 command ${command} is neither LOCAL nor PROXY`);
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  if (family > 3 || transport > 2)
    throw new ProxyProtocolError(
      'PROXY_MALFORMED',
      `PROXY v2 family/transport byte 0x${buf[13]!.toString(16)} is undefined`,
    );
  const length = (buf[14]! << 8) | buf[15]!;
  const headerBytes = V2_FIXED_BYTES + length;
  if (headerBytes > V2_MAX_BYTES)
    throw new ProxyProtocolError(
      'PROXY_TOO_LARGE',
      `PROXY v2 header of ${headerBytes} bytes (at most ${V2_MAX_BYTES})`,
    );
  const addressBytes = family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0;
  if (length < addressBytes)
    throw new ProxyProtocolError(
      'PROXY_MALFORMED',
      `PROXY v2 length ${length} is shorter than its addresses (${addressBytes})`,
    );
  if (buf.length < headerBytes) return { status: 'incomplete' };
  // LOCAL (a balancer's own health check), UNSPEC and UNIX name no IP sender: the connection's own address stands.
  if (command === 0 || family === 0 || family === 3) return { status: 'done', headerBytes, version: 2, source: null };
  const at = V2_FIXED_BYTES;
  if (family === 1) {
    const address = `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return { status: 'done', headerBytes, version: 2, source: { address, port: (buf[at + 8]! << 8) | buf[at + 9]! } };
  }
  return {
    status: 'done',
    headerBytes,
    version: 2,
    source: { address: ipv6FromBytes(buf.subarray(at, at + 16)), port: (buf[at + 32]! << 8) | buf[at + 33]! },
  };
}

/** 16 bytes to RFC 5952 text; an IPv4-mapped address as plain IPv4, as normalizeAddress shows socket addresses. */
function ipv6FromBytes(b: Uint8Array): string {
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return canonicalIPv6(groups.join(':'));
}

/** Valid IPv6 text to the one form a socket reports (lower case, longest zero run compressed). */
function canonicalIPv6(text: string): string {
  const lower = text.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  return new URL(`http://[${lower}]/`).hostname.slice(1, -1);
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 16);
}

/** A v1 header line, for tests and tools. */
export function encodeProxyV1(source: ProxySource, destination: ProxySource): Buffer {
  const family = isIPv4(source.address) ? 'TCP4' : 'TCP6';
  return Buffer.from(
    `PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`,
    'latin1',
  );
}

/** A v2 PROXY (or LOCAL, with source null) header over TCP with optional TLV bytes, for tests and tools. */
export function encodeProxyV2(
  source: ProxySource | null,
  destination: ProxySource | null,
  tlvs: Uint8Array = new Uint8Array(0),
): Buffer {
  if (source === null || destination === null) {
    const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, tlvs.length >> 8, tlvs.length & 0xff])]);
    return Buffer.concat([head, tlvs]);
  }
  const v4 = isIPv4(source.address);
  const addr = v4
    ? Buffer.concat([
        ipv4Bytes(source.address),
        ipv4Bytes(destination.address),
        portBytes(source.port),
        portBytes(destination.port),
      ])
    : Buffer.concat([
        ipv6Bytes(source.address),
        ipv6Bytes(destination.address),
        portBytes(source.port),
        portBytes(destination.port),
      ]);
  const length = addr.length + tlvs.length;
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, v4 ? 0x11 : 0x21, length >> 8, length & 0xff]), addr, tlvs]);
}

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}
function portBytes(p: number): Buffer {
  return Buffer.from([p >> 8, p & 0xff]);
}
function ipv6Bytes(a: string): Buffer {
  const [head = '', tail = ''] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = a.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
