import type { Socket } from 'node:net';
import { normalizeAddress } from '../../shared/event-key.js';
import type { Logger } from '../../shared/logger.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import type { ConnectionLimiter } from './connection-limiter.js';
import { decodeProxyHeader, ProxyProtocolError, type ProxyMode, type ProxySource } from './proxy-protocol.js';
import { ThrottledWarning } from './throttled-warning.js';

/** The `transport` label of the connection metrics: syslog over TCP or TLS, Forward (plain or TLS), HTTP(S). */
export type GatedTransport = 'tcp' | 'tls' | 'forward' | 'http';

export interface ConnectionGateOptions {
  readonly transport: GatedTransport;
  /** null: no PROXY protocol (the socket's peer is the sender). */
  readonly proxyProtocol: ProxyMode | null;
  /** The PROXY header must be complete within this time of the accept. */
  readonly proxyHeaderTimeoutMs: number;
}

/** Why a PROXY header was not taken, beyond the codec's reasons: the `reason` label of the rejected counter. */
type ReadFailure = 'timeout' | 'aborted';

/**
 * The door of a TCP input: every accepted socket passes the input's connection limits and, when configured, its
 * PROXY protocol header before the input sees a byte. Refused connections are closed at once and counted; with the
 * header read, the sender it names becomes the socket's remoteAddress (and remotePort), so every input, its dedup
 * key and its logs see the sender instead of the load balancer. Bytes after the header are put back unread and the
 * socket is handed over paused: the input resumes it (a plain-TCP input must, or it never reads).
 */
export class ConnectionGate {
  /** Sender addresses by the balancer-side connection (peer address, peer port, local port), for adopt(). */
  readonly #senders = new Map<string, ProxySource>();
  readonly #refused: ThrottledWarning;
  readonly #rejected: ThrottledWarning;

  constructor(
    private readonly options: ConnectionGateOptions,
    private readonly limiter: ConnectionLimiter,
    private readonly metrics: ReceiverMetrics,
    private readonly log: Logger,
  ) {
    this.#refused = new ThrottledWarning(log, `refusing ${options.transport} connections: connection limit reached`);
    this.#rejected = new ThrottledWarning(
      log,
      `closing ${options.transport} connection: no valid PROXY protocol header`,
    );
  }

  /** For a net.Server's connection listener: calls `admitted(raw)` once the socket is admitted (and its header read). */
  accept(raw: Socket, admitted: (raw: Socket) => void): void {
    const { transport } = this.options;
    raw.on('error', (err) => this.log.debug({ transport, err: err.message }, 'connection error'));
    const peer = normalizeAddress(raw.remoteAddress) ?? 'unknown';
    const proxy = this.options.proxyProtocol;
    // Behind a balancer the peer is the balancer: the per-address limit applies to the sender, once it is known.
    let charged: string | null = proxy === null ? peer : null;
    const refusal = this.limiter.acquire(charged);
    if (refusal !== null) {
      this.#refuse(raw, peer, refusal);
      return;
    }
    this.metrics.connectionsAccepted.inc({ transport });
    const open = this.metrics.connections.labels(transport);
    open.inc();
    const key = connectionKey(raw);
    raw.once('close', () => {
      this.limiter.release(charged);
      open.dec();
      this.#senders.delete(key);
    });
    // A device that rebooted never says goodbye: keepalive probes find such dead peers and free their slot.
    raw.setKeepAlive(true, 60_000);
    if (proxy === null) {
      admitted(raw);
      return;
    }

    readProxyHeader(raw, proxy, this.options.proxyHeaderTimeoutMs, (failure, source, version) => {
      if (failure !== null) {
        const reason = failure instanceof ProxyProtocolError ? failure.reason : failure;
        this.metrics.proxyRejected.inc({ transport, reason });
        this.#rejected.warn({ peer, reason, err: failure instanceof ProxyProtocolError ? failure.message : failure });
        raw.destroy();
        return;
      }
      this.metrics.proxyHeaders.inc({ transport, version: source === null ? 'local' : `v${version}` });
      if (source !== null) {
        const late = this.limiter.assign(source.address);
        if (late !== null) {
          this.#refuse(raw, source.address, late);
          return;
        }
        charged = source.address;
        this.#senders.set(key, source);
        actAsSender(raw, source);
      }
      // Left paused: a plain input resumes it once its listeners are on; TLS reads the bytes put back itself.
      admitted(raw);
    });
  }

  /** A TLSSocket made over an admitted socket: gives it the sender its raw socket's PROXY header named. */
  adopt(socket: Socket): void {
    const source = this.#senders.get(connectionKey(socket));
    if (source) actAsSender(socket, source);
  }

  #refuse(raw: Socket, address: string, reason: 'max_connections' | 'max_connections_per_address'): void {
    this.metrics.connectionsRefused.inc({ transport: this.options.transport, reason });
    this.#refused.warn({ source: address, reason, open: this.limiter.open });
    raw.destroy();
  }
}

/** The balancer-side identity of a connection, the same on a raw socket and on a TLSSocket over it. */
function connectionKey(s: Socket): string {
  return `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}|${s.localPort ?? ''}`;
}

/** remoteAddress and remotePort are getters on net.Socket's prototype: own properties shadow them for this socket. */
function actAsSender(socket: Socket, source: ProxySource): void {
  Object.defineProperty(socket, 'remoteAddress', { value: source.address, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: source.port, configurable: true });
}

/**
 * Reads bytes until the PROXY header is complete, then pauses the socket and puts what followed it back. Calls `done`
 * once: with a failure (codec error, timeout, peer gone) or with the sender (null: the header names none).
 */
function readProxyHeader(
  raw: Socket,
  mode: ProxyMode,
  timeoutMs: number,
  done: (failure: ProxyProtocolError | ReadFailure | null, source: ProxySource | null, version: 1 | 2) => void,
): void {
  let received: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (
    failure: ProxyProtocolError | ReadFailure | null,
    source: ProxySource | null = null,
    version: 1 | 2 = 1,
  ) => {
    if (finished) return;
    finished = true;
    raw.off('data', onData);
    raw.off('end', onGone);
    raw.off('close', onGone);
    raw.off('timeout', onTimeout);
    raw.setTimeout(0);
    done(failure, source, version);
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    let result;
    try {
      result = decodeProxyHeader(received, mode);
    } catch (err) {
      if (err instanceof ProxyProtocolError) {
        finish(err);
        return;
      }
      throw err;
    }
    if (result.status === 'incomplete') return;
    raw.pause();
    const rest = received.subarray(result.headerBytes);
    if (rest.length > 0) raw.unshift(rest);
    finish(null, result.source, result.version);
  };
  const onGone = () => finish('aborted');
  const onTimeout = () => finish('timeout');
  raw.on('data', onData);
  raw.once('end', onGone);
  raw.once('close', onGone);
  raw.setTimeout(timeoutMs);
  raw.once('timeout', onTimeout);
}
