import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { decodeMulti, decodeMultiStream, encode, ExtensionCodec } from '@msgpack/msgpack';

/** One event as the scripted aggregator decoded it. */
export interface ReceivedEvent {
  tag: string;
  seconds: number;
  nanoseconds: number;
  record: Record<string, unknown>;
  chunk: string | undefined;
}

/** One PackedForward message as received, with what the server did about its ack. */
export interface ReceivedMessage {
  tag: string;
  option: Record<string, unknown>;
  /** Whether `entries` came as bin (true) or str. */
  entriesWereBinary: boolean;
  events: ReceivedEvent[];
  acked: boolean;
  at: number;
  /** When the ack was written back (ms since the epoch). */
  ackedAt?: number;
}

export type AckDecision = 'ack' | 'drop' | 'hold';

export interface ScriptedServerOptions {
  /** Decide per message; `n` counts the messages with this chunk id seen before (0 on the first). Default: ack. */
  ack?: (chunk: string, n: number) => AckDecision;
  /** Require the Forward handshake with this shared key. */
  sharedKey?: string;
  hostname?: string;
  /** Require user authentication (HELO auth salt) with these credentials. */
  users?: Record<string, string>;
  /** Skip checking the client's digest (an impostor server that does not know the key). */
  acceptAnyPing?: boolean;
  /** Close the connection instead of reading its n-th message (0-based), as an idle timeout racing a send would. */
  closeOnMessage?: (n: number) => boolean;
  /** Serve Forward over TLS with this key and certificate (PEM). */
  tls?: { key: Buffer; cert: Buffer };
  /** Answer UDP heartbeats on the same port. */
  udp?: boolean;
  port?: number;
}

const eventTimeCodec = new ExtensionCodec();
eventTimeCodec.register({
  type: 0,
  encode: () => null,
  decode: (data: Uint8Array) => {
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return { seconds: b.readUInt32BE(0), nanoseconds: b.readUInt32BE(4) };
  },
});

const sha512Hex = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/**
 * A Forward aggregator written from the spec for tests: decodes PackedForward and CompressedPackedForward, runs
 * the server side of the handshake and acks (or drops, or holds) each chunk as the test scripts it.
 */
export class ScriptedForwardServer {
  readonly messages: ReceivedMessage[] = [];
  readonly pings: { hostname: string; username: string }[] = [];
  handshakeFailures = 0;
  heartbeatsAnswered = 0;
  answerUdp = true;
  private readonly seen = new Map<string, number>();
  private readonly held: { socket: Socket; chunk: string; message: ReceivedMessage }[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private udp: UdpSocket | null = null;
  port = 0;

  constructor(private readonly options: ScriptedServerOptions = {}) {}

  get events(): ReceivedEvent[] {
    return this.messages.flatMap((m) => m.events);
  }

  async start(): Promise<this> {
    const tls = this.options.tls;
    const server = tls
      ? createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => this.onConnection(socket))
      : createServer((socket) => this.onConnection(socket));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    if (this.options.udp) {
      const udp = createSocket('udp4');
      udp.on('message', (_m, rinfo) => {
        if (!this.answerUdp) return;
        this.heartbeatsAnswered++;
        udp.send(Buffer.from([0]), rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve) => udp.bind(this.port, '127.0.0.1', resolve));
      this.udp = udp;
    }
    return this;
  }

  /** Ack every held chunk now. */
  releaseHeld(): void {
    for (const h of this.held.splice(0)) {
      h.message.acked = true;
      h.message.ackedAt = Date.now();
      if (!h.socket.destroyed) h.socket.write(encode({ ack: h.chunk }));
    }
  }

  get heldCount(): number {
    return this.held.length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.udp?.close();
    this.udp = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise((r) => server.close(r));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const auth =
      this.options.sharedKey !== undefined
        ? { nonce: randomBytes(16), salt: this.options.users ? randomBytes(16) : Buffer.alloc(0), done: false }
        : null;
    if (auth) socket.write(encode(['HELO', { nonce: auth.nonce, auth: auth.salt, keepalive: true }]));
    let n = 0;
    void (async () => {
      try {
        for await (const msg of decodeMultiStream(socket, { extensionCodec: eventTimeCodec })) {
          if (auth && !auth.done) {
            if (!this.checkPing(socket, msg, auth)) {
              this.handshakeFailures++;
              socket.end();
              return;
            }
            auth.done = true;
            continue;
          }
          if (msg === null) continue; // heartbeat
          if (this.options.closeOnMessage?.(n++)) {
            socket.destroy();
            return;
          }
          this.onMessage(socket, msg as unknown[]);
        }
      } catch {
        socket.destroy();
      }
    })();
  }

  private checkPing(socket: Socket, msg: unknown, auth: { nonce: Buffer; salt: Buffer }): boolean {
    const key = this.options.sharedKey!;
    const serverHost = this.options.hostname ?? 'scripted-aggregator';
    const fail = (reason: string) => {
      socket.write(encode(['PONG', false, reason, serverHost, '']));
      return false;
    };
    if (!Array.isArray(msg) || msg[0] !== 'PING' || msg.length !== 6) return fail('invalid ping message');
    const [, hostname, salt, digest, username, passwordDigest] = msg as string[];
    this.pings.push({ hostname: hostname!, username: username! });
    if (!this.options.acceptAnyPing && sha512Hex(salt!, hostname!, auth.nonce, key) !== digest)
      return fail('shared_key mismatch');
    if (this.options.users) {
      const password = this.options.users[username!];
      if (password === undefined || sha512Hex(auth.salt, username!, password) !== passwordDigest)
        return fail('username/password mismatch');
    }
    socket.write(encode(['PONG', true, '', serverHost, sha512Hex(salt!, serverHost, auth.nonce, key)]));
    return true;
  }

  private onMessage(socket: Socket, msg: unknown[]): void {
    const [tag, entries, option = {}] = msg as [string, Uint8Array | string, Record<string, unknown>];
    const binary = entries instanceof Uint8Array;
    let bytes: Buffer = binary ? Buffer.from(entries) : Buffer.from(entries, 'binary');
    if (option.compressed === 'gzip') bytes = gunzipSync(bytes);
    const chunk = typeof option.chunk === 'string' ? option.chunk : undefined;
    const events: ReceivedEvent[] = [];
    for (const e of decodeMulti(bytes, { extensionCodec: eventTimeCodec })) {
      const [time, record] = e as [{ seconds: number; nanoseconds: number } | number, Record<string, unknown>];
      const t = typeof time === 'number' ? { seconds: time, nanoseconds: 0 } : time;
      events.push({ tag, ...t, record, chunk });
    }
    const message: ReceivedMessage = { tag, option, entriesWereBinary: binary, events, acked: false, at: Date.now() };
    this.messages.push(message);
    if (chunk === undefined) return;
    const n = this.seen.get(chunk) ?? 0;
    this.seen.set(chunk, n + 1);
    const decision = this.options.ack?.(chunk, n) ?? 'ack';
    if (decision === 'ack') {
      message.acked = true;
      message.ackedAt = Date.now();
      socket.write(encode({ ack: chunk }));
    } else if (decision === 'hold') this.held.push({ socket, chunk, message });
  }
}

/** A loopback port that nothing listens on (for a server that is down). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
