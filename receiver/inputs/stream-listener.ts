import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { Intake } from '../intake.js';
import type { ReceiverMetrics } from '../receiver-metrics.js';
import type { ConnectionLimiter } from './connection-limiter.js';
import { ConnectionGate } from './connection-gate.js';
import type { ProxyMode } from './proxy-protocol.js';

export interface StreamListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly transport: 'tcp' | 'tls';
  /** null: no PROXY protocol header expected. */
  readonly proxyProtocol: ProxyMode | null;
  readonly proxyHeaderTimeoutMs: number;
}

/**
 * The listening socket of a stream input (syslog over TCP or TLS). Its gate admits each connection under the shared
 * connection limits (refused ones are closed at once and counted) and reads the PROXY header when configured; the
 * listener pauses and resumes every stream with the publisher's pressure, and on close lets each stream hand over
 * what it holds before the connection ends.
 *
 * `admitted` gets each admitted connection: TCP starts its stream at once, TLS after the handshake. Either way the
 * stream is registered with startStream().
 */
export class StreamListener {
  readonly server: Server;
  readonly gate: ConnectionGate;
  readonly #connections = new Set<Socket>();
  readonly #streams = new Set<Socket>();

  constructor(
    private readonly options: StreamListenerOptions,
    limiter: ConnectionLimiter,
    admitted: (raw: Socket) => void,
    private readonly handleStream: (stream: Socket) => void,
    private readonly intake: Intake,
    metrics: ReceiverMetrics,
    log: Logger,
  ) {
    const { transport, proxyProtocol, proxyHeaderTimeoutMs } = options;
    this.gate = new ConnectionGate({ transport, proxyProtocol, proxyHeaderTimeoutMs }, limiter, metrics, log);
    this.server = createServer((raw) => {
      this.#connections.add(raw);
      raw.once('close', () => this.#connections.delete(raw));
      this.gate.accept(raw, admitted);
    });
    intake.onPressure((paused) => {
      for (const s of this.#streams)
        if (paused) s.pause();
        else s.resume();
    });
  }

  /** Registers a connection that now carries syslog (TCP: the socket; TLS: the TLSSocket after its handshake). */
  startStream(stream: Socket): void {
    this.#streams.add(stream);
    stream.once('close', () => this.#streams.delete(stream));
    this.handleStream(stream);
    // After a PROXY header the socket comes paused; under pressure it stays so until the pressure ends.
    if (this.intake.paused) stream.pause();
    else stream.resume();
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting; each stream is half-closed (the peer sees EOF, bytes already here are still read). Bounded. */
  async close(graceMs = 2000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.#streams) {
      s.resume();
      s.end();
    }
    const deadline = setTimeout(() => {
      for (const c of this.#connections) c.destroy();
    }, graceMs);
    await closed;
    clearTimeout(deadline);
  }
}
