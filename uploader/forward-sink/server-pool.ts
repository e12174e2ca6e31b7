import { randomInt } from 'node:crypto';
import type { Logger } from '../../shared/logger.js';
import { ForwardClient } from './forward-client.js';
import { ForwardSendError } from './forward-errors.js';
import type { ForwardServer, ForwardSinkOptions } from './forward-sink-config.js';
import type { ForwardSinkMetrics } from './forward-sink-metrics.js';
import { tcpProbe, UdpHeartbeat } from './heartbeat.js';
import { buildRotation, NodeHealth } from './node-health.js';

/** One configured server: its health and its (kept-alive) connection. */
export class ServerNode {
  readonly health: NodeHealth;
  private client: ForwardClient | null = null;
  private connecting: Promise<ForwardClient> | null = null;
  /** Learnt from the server's HELO; false: one connection per message. */
  private keepalive = true;
  probing = false;
  awaitingUdpReply = false;

  constructor(
    readonly server: ForwardServer,
    private readonly options: ForwardSinkOptions,
  ) {
    this.health = new NodeHealth(
      options.downAfterFailures,
      options.upAfterHeartbeats,
      options.heartbeatType !== 'none',
    );
  }

  get label(): string {
    return this.server.label;
  }
  get weight(): number {
    return this.server.weight;
  }
  get standby(): boolean {
    return this.server.standby;
  }
  get up(): boolean {
    return this.health.up;
  }

  /**
   * Resolves when the server acknowledged the message (or, without acks, when it is written). `onWritten` runs
   * each time the bytes are handed to a connection, after connect and handshake succeeded. A kept-alive
   * connection that the server closed meanwhile (an idle timeout racing this send) is not held against the
   * server: the message is sent once more on a fresh connection, and only that outcome counts.
   */
  async send(message: Buffer, chunkId: string | null, onWritten: () => void): Promise<void> {
    const client = await this.acquire();
    const reused = client.sends > 0;
    try {
      await client.send(message, chunkId, onWritten);
    } catch (err) {
      if (!reused || !(err instanceof ForwardSendError) || !err.closedByServer) throw err;
      const fresh = await this.acquire();
      try {
        await fresh.send(message, chunkId, onWritten);
      } finally {
        if (!fresh.keepalive) fresh.close();
      }
      return;
    } finally {
      if (!client.keepalive) client.close();
    }
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  private async acquire(): Promise<ForwardClient> {
    if (!this.keepalive) return this.open();
    if (this.client?.usable) return this.client;
    this.connecting ??= this.open()
      .then((c) => {
        this.keepalive = c.keepalive;
        if (c.keepalive) {
          this.client = c;
          c.onClose = () => {
            if (this.client === c) this.client = null;
          };
        }
        return c;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  private open(): Promise<ForwardClient> {
    const o = this.options;
    return ForwardClient.connect({
      host: this.server.host,
      port: this.server.port,
      tls: o.tls,
      auth: o.auth,
      connectTimeoutMs: o.connectTimeoutMs,
      ackTimeoutMs: o.requireAckResponse ? o.ackResponseTimeoutMs : 0,
    });
  }
}

/**
 * The configured servers, their rotation (weights, standby) and the heartbeats that move them in and out of it.
 * Picking walks the rotation round-robin, skipping servers that are down or already tried for this chunk.
 */
export class ServerPool {
  readonly nodes: readonly ServerNode[];
  private rotation: ServerNode[] = [];
  private cursor = 0;
  private readonly seed = randomInt(2 ** 31);
  private timer: NodeJS.Timeout | null = null;
  private udp: UdpHeartbeat | null = null;

  constructor(
    private readonly options: ForwardSinkOptions,
    private readonly metrics: ForwardSinkMetrics,
    private readonly log: Logger,
  ) {
    this.nodes = options.servers.map((s) => new ServerNode(s, options));
    this.rebuild();
  }

  start(): void {
    if (this.timer || this.options.heartbeatType === 'none') return;
    if (this.options.heartbeatType === 'udp') {
      const family = this.nodes[0]?.server.host.includes(':') ? 6 : 4;
      this.udp = new UdpHeartbeat(family, (address, port) => this.onUdpReply(address, port));
    }
    this.timer = setInterval(() => this.heartbeat(), this.options.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** The next server in rotation that is up and not in `tried`; null when none is left. */
  pick(tried: ReadonlySet<ServerNode>): ServerNode | null {
    const n = this.rotation.length;
    for (let i = 0; i < n; i++) {
      this.cursor = (this.cursor + 1) % n;
      const node = this.rotation[this.cursor]!;
      if (node.up && !tried.has(node)) return node;
    }
    return null;
  }

  sendFailed(node: ServerNode, err: ForwardSendError): void {
    this.metrics.sendFailures.inc({ server: node.label, reason: err.reason });
    if (err.code === 'FORWARD_ACK_TIMEOUT') this.metrics.ackTimeouts.inc({ server: node.label });
    if (node.health.sendFailed()) {
      this.log.warn({ server: node.label, code: err.code, err: err.message }, 'forward server taken out of rotation');
      this.rebuild();
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.udp?.close();
    this.udp = null;
    for (const n of this.nodes) n.close();
  }

  private heartbeat(): void {
    for (const node of this.nodes) {
      if (this.udp) {
        if (node.awaitingUdpReply) this.heartbeatResult(node, false);
        node.awaitingUdpReply = true;
        void this.udp.ping(node.server.host, node.server.port);
        continue;
      }
      if (node.probing) continue;
      node.probing = true;
      const timeout = Math.min(this.options.connectTimeoutMs, this.options.heartbeatIntervalMs);
      void tcpProbe(node.server.host, node.server.port, timeout).then((ok) => {
        node.probing = false;
        if (this.timer) this.heartbeatResult(node, ok);
      });
    }
  }

  private onUdpReply(address: string, port: number): void {
    for (const node of this.nodes) {
      if (node.server.port !== port || this.udp?.addressOf(node.server.host) !== address || !node.awaitingUdpReply)
        continue;
      node.awaitingUdpReply = false;
      this.heartbeatResult(node, true);
    }
  }

  private heartbeatResult(node: ServerNode, ok: boolean): void {
    if (!ok) this.metrics.heartbeatFailures.inc({ server: node.label });
    const changed = ok ? node.health.heartbeatSucceeded() : node.health.heartbeatFailed();
    if (!changed) return;
    if (ok) this.log.warn({ server: node.label }, 'forward server recovered; back in rotation');
    else this.log.warn({ server: node.label }, 'forward server missed heartbeats; taken out of rotation');
    this.rebuild();
  }

  private rebuild(): void {
    this.rotation = buildRotation(this.nodes, this.seed);
    const active = new Set(this.rotation);
    for (const node of this.nodes) {
      this.metrics.serverUp.set({ server: node.label }, node.up ? 1 : 0);
      this.metrics.serverActive.set({ server: node.label }, active.has(node) ? 1 : 0);
    }
    const standby = this.nodes.filter((n) => n.standby && active.has(n)).map((n) => n.label);
    if (standby.length > 0) this.log.warn({ standby }, 'forward standby servers in rotation');
    if (active.size === 0) this.log.error('no forward server is available');
  }
}
