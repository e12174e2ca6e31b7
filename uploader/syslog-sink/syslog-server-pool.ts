import { backoffDelayMs, type Backoff } from '../../shared/backoff.js';
import type { Logger } from '../../shared/logger.js';
import type { SyslogServer, SyslogSinkOptions } from './syslog-sink-config.js';
import { SyslogSendError } from './syslog-errors.js';
import type { SyslogSinkMetrics } from './syslog-sink-metrics.js';
import { SyslogStreamClient } from './syslog-stream-client.js';
import { SyslogUdpClient } from './syslog-udp-client.js';

type Client = SyslogStreamClient | SyslogUdpClient;

/** One collector: its kept connection and, after failures, when it may be tried again (shared/backoff.ts). */
export class SyslogServerNode {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  failures = 0;
  retryAt = 0;

  constructor(
    readonly server: SyslogServer,
    private readonly options: SyslogSinkOptions,
    private readonly onConnected: (up: boolean) => void,
  ) {}

  get label(): string {
    return this.server.label;
  }

  /** Writes the messages (framed for streams, one datagram each for UDP); resolves when the kernel took them. */
  async write(chunks: readonly Buffer[]): Promise<void> {
    const client = await this.acquire();
    await client.write(chunks);
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  private async acquire(): Promise<Client> {
    if (this.client?.usable) return this.client;
    this.client = null;
    this.connecting ??= this.open()
      .then((c) => {
        this.client = c;
        this.onConnected(true);
        c.onClose = () => {
          if (this.client === c) {
            this.client = null;
          }
          this.onConnected(false);
        };
        return c;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  private open(): Promise<Client> {
    const o = this.options;
    const { host, port } = this.server;
    if (o.transport === 'udp') return SyslogUdpClient.connect(host, port, o.connectTimeoutMs);
    return SyslogStreamClient.connect({
      host,
      port,
      tls: o.tls,
      connectTimeoutMs: o.connectTimeoutMs,
      writeTimeoutMs: o.writeTimeoutMs,
    });
  }
}

/**
 * The collectors in order of preference. A write goes to the first one that is not waiting out a backoff; when it
 * fails there, it goes on to the next (a failover), and the failed one waits a backoff that doubles with each
 * consecutive failure (full jitter) before it is tried again. So the first collector takes the traffic back as soon
 * as it accepts connections again, and a collector that stays down costs one connect attempt per backoff.
 */
export class SyslogServerPool {
  readonly nodes: readonly SyslogServerNode[];
  private readonly backoff: Backoff;

  constructor(
    options: SyslogSinkOptions,
    private readonly metrics: SyslogSinkMetrics,
    private readonly sink: string,
    private readonly log: Logger,
  ) {
    this.backoff = { initialDelayMs: options.retryInitialDelayMs, maxDelayMs: options.retryMaxDelayMs };
    this.nodes = options.servers.map(
      (s) => new SyslogServerNode(s, options, (up) => metrics.connected.set({ sink, server: s.label }, up ? 1 : 0)),
    );
    for (const n of this.nodes) metrics.connected.set({ sink, server: n.label }, 0);
  }

  /**
   * Runs `send` on the first usable collector, failing over down the list; returns the collector that took it.
   * Bounded: each collector is tried at most once per call.
   */
  async deliver(
    send: (node: SyslogServerNode) => Promise<void>,
    now: () => number = Date.now,
  ): Promise<SyslogServerNode> {
    let last: SyslogSendError | null = null;
    let previous: SyslogServerNode | null = null;
    for (const node of this.candidates(now())) {
      if (previous) this.metrics.failovers.inc({ sink: this.sink, server: previous.label });
      try {
        await send(node);
        if (node.failures > 0)
          this.log.warn({ server: node.label, failures: node.failures }, 'syslog collector takes events again');
        node.failures = 0;
        node.retryAt = 0;
        return node;
      } catch (err) {
        last = err instanceof SyslogSendError ? err : new SyslogSendError('SYSLOG_SEND_FAILED', (err as Error).message);
        node.close();
        node.failures++;
        node.retryAt = now() + backoffDelayMs(node.failures, this.backoff);
        this.metrics.sendFailures.inc({ sink: this.sink, server: node.label, reason: last.reason });
        this.log.warn(
          { server: node.label, code: last.code, err: last.message, retryInMs: node.retryAt - now() },
          'syslog collector failed',
        );
        previous = node;
      }
    }
    throw last ?? new SyslogSendError('SYSLOG_CONNECT_FAILED', 'no syslog collector is configured');
  }

  /**
   * The collectors not waiting out a backoff, in order. When every one is waiting, the one whose wait ends first is
   * tried anyway: the uploader's own retry backoff paces such writes, and a write that tried nothing would only use
   * up one of its attempts before the batches go to the secondary.
   */
  private candidates(at: number): SyslogServerNode[] {
    const ready = this.nodes.filter((n) => n.retryAt <= at);
    if (ready.length > 0 || this.nodes.length === 0) return ready;
    return [this.nodes.reduce((a, b) => (b.retryAt < a.retryAt ? b : a))];
  }

  close(): void {
    for (const n of this.nodes) n.close();
  }
}
