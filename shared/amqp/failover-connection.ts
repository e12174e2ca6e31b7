import { EventEmitter } from 'node:events';
import { connect, type ChannelModel } from 'amqplib';
import { backoffDelayMs, type Backoff } from '../backoff.js';
import { BROKER_BACKOFF, nextEndpointIndex, redactUrl, shuffledEndpoints } from './broker-endpoints.js';

export interface FailoverConnectionEvents {
  /** Connected to `url` and `setup` succeeded. Fires again after every reconnect. */
  connect: [model: ChannelModel, url: string];
  /** The connection to `url` is gone; a reconnect (to the next endpoint) is already scheduled. */
  disconnect: [error: Error, url: string];
  /** A connect or its setup failed on `url`; the next endpoint is tried after a backoff. */
  'connect-failed': [error: Error, url: string];
  blocked: [reason: string];
  unblocked: [];
  error: [error: Error];
}

export interface FailoverConnectionOptions {
  /** The endpoints; tried in an order shuffled once per process. */
  readonly urls: readonly string[];
  readonly connectionName: string;
  /** Runs on every new connection before 'connect'; a throw counts as a failed connect. */
  readonly setup?: (model: ChannelModel) => Promise<void>;
  readonly backoff?: Backoff;
  /** Bound on a TCP connect plus the AMQP handshake: an unreachable (partitioned) node must not stall the failover. */
  readonly connectTimeoutMs?: number;
  /** Maps an endpoint to the URL actually dialed (a lease adds its own heartbeat). */
  readonly dialUrl?: (url: string) => string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * One AMQP connection over a list of endpoints (the nodes of a cluster). On a lost connection or a failed attempt it
 * moves to the next endpoint after the shared backoff (shared/backoff.ts), which restarts after each successful
 * connect; with one endpoint it reconnects to that node. Every consumer of the broker connects through here, so the
 * failover policy lives in one place.
 */
export class FailoverConnection extends EventEmitter<FailoverConnectionEvents> {
  private readonly urls: readonly string[];
  private index = 0;
  private attempt = 0;
  private model: ChannelModel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly o: FailoverConnectionOptions,
    random: () => number = Math.random,
  ) {
    super();
    if (o.urls.length === 0) throw new Error('FailoverConnection needs at least one URL');
    this.urls = shuffledEndpoints(o.urls, random);
  }

  /** The endpoint connected to now, or null. */
  get currentUrl(): string | null {
    return this.model ? this.urls[this.index]! : null;
  }

  /** Starts connecting in the background (the first attempt is deferred so listeners can be attached). */
  start(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connectOnce();
    }, 0);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const m = this.model;
    this.model = null;
    if (m) await m.close().catch(() => undefined);
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    const url = this.urls[this.index]!;
    let model: ChannelModel | null = null;
    try {
      model = await connect(this.o.dialUrl ? this.o.dialUrl(url) : url, {
        clientProperties: { connection_name: this.o.connectionName },
        timeout: this.o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
      // Until bound below, a connection lost during setup would emit 'error' with no listener and throw from the
      // socket handler; with this listener the loss fails the setup instead.
      model.on('error', () => undefined);
      if (this.o.setup) await this.o.setup(model);
    } catch (err) {
      if (model) await model.close().catch(() => undefined);
      if (this.stopped) return;
      this.emit('connect-failed', err instanceof Error ? err : new Error(String(err)), redactUrl(url));
      this.schedule();
      return;
    }
    if (this.stopped) {
      await model.close().catch(() => undefined);
      return;
    }
    this.attempt = 0;
    this.model = model;
    this.bind(model, url);
    this.emit('connect', model, redactUrl(url));
  }

  private bind(model: ChannelModel, url: string): void {
    model.on('close', (maybeErr?: Error) => {
      if (this.model !== model) return;
      this.model = null;
      if (this.stopped) return;
      this.emit('disconnect', maybeErr instanceof Error ? maybeErr : new Error('Connection closed'), redactUrl(url));
      this.schedule();
    });
    model.on('blocked', (reason: string) => this.emit('blocked', reason));
    model.on('unblocked', () => this.emit('unblocked'));
    model.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.index = nextEndpointIndex(this.index, this.urls.length);
    this.attempt++;
    const delay = backoffDelayMs(this.attempt, this.o.backoff ?? BROKER_BACKOFF);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connectOnce();
    }, delay);
  }
}
