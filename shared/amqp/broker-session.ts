import { EventEmitter } from 'node:events';
import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from '../logger.js';
import { declareTopology, type Topology } from './topology.js';

export interface BrokerSessionEvents {
  /** Connected and the topology is declared: open channels on this model. Fires again after every reconnect. */
  ready: [model: ChannelModel];
  /** The connection is gone; channels opened on it are dead. Reconnection is already scheduled. */
  lost: [error: Error];
  /** RabbitMQ's resource alarm: publishing would stall, so intake must pause. */
  blocked: [reason: string];
  unblocked: [];
}

/**
 * One AMQP connection that reconnects with exponential backoff and jitter (amqplib's own recovery) and redeclares
 * the topology before anyone uses it again.
 */
export class BrokerSession extends EventEmitter<BrokerSessionEvents> {
  private recovering: RecoveringChannelModel | null = null;
  private current: ChannelModel | null = null;
  private isBlocked = false;

  constructor(
    private readonly url: string,
    private readonly topology: Topology,
    private readonly log: Logger,
    private readonly connectionName: string,
  ) {
    super();
  }

  get connected(): boolean { return this.current !== null; }
  get blocked(): boolean { return this.isBlocked; }

  async start(): Promise<void> {
    const recovering = await connect(this.url, {
      clientProperties: { connection_name: this.connectionName },
      recovery: {
        initialDelay: 200, maxDelay: 10_000, factor: 2, jitter: 0.3, waitForConnect: false,
        setup: async (model: ChannelModel) => {
          // Recovery listens on the model only after setup: a connection lost meanwhile would emit 'error' with no
          // listener and throw from the socket handler (a crash, or a setup that never settles). With a listener the
          // close fails the setup and recovery tries again.
          model.on('error', () => undefined);
          const channel = await model.createChannel();
          try { await declareTopology(channel, this.topology); } finally { await channel.close().catch(() => undefined); }
        },
      },
    });
    this.recovering = recovering;
    recovering.on('connect', (model) => {
      this.current = model;
      this.isBlocked = false;
      this.log.info({ url: redactUrl(this.url) }, 'broker connected, topology declared');
      this.emit('ready', model);
    });
    recovering.on('disconnect', (err) => {
      this.current = null;
      this.log.warn({ err: err.message }, 'broker connection lost; reconnecting');
      this.emit('lost', err);
    });
    recovering.on('connect-failed', (err) => this.log.warn({ err: err.message, url: redactUrl(this.url) }, 'broker connect failed'));
    recovering.on('blocked', (reason) => { this.isBlocked = true; this.log.warn({ reason }, 'broker blocked publishing'); this.emit('blocked', reason); });
    recovering.on('unblocked', () => { this.isBlocked = false; this.log.info('broker unblocked'); this.emit('unblocked'); });
    recovering.on('error', (err) => this.log.warn({ err: err.message }, 'broker connection error'));
  }

  async close(): Promise<void> {
    const r = this.recovering;
    this.recovering = null;
    this.current = null;
    if (r) await r.close().catch(() => undefined);
  }
}

export function redactUrl(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = '***'; return u.toString(); } catch { return '<invalid url>'; }
}
