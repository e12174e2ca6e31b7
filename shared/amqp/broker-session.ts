import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import type { Logger } from '../logger.js';
import { parseAmqpUrls } from './broker-endpoints.js';
import { FailoverConnection } from './failover-connection.js';
import { declareTopologyOn, type Topology } from './topology.js';

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
 * One AMQP connection to one of the configured brokers (`amqpUrl`, one URL or a comma-separated list of cluster
 * nodes). On a loss it fails over to the next node with exponential backoff and jitter and redeclares the topology
 * before anyone uses it again; the roles reattach their channels on 'ready' and resend what was not confirmed.
 */
export class BrokerSession extends EventEmitter<BrokerSessionEvents> {
  private connection: FailoverConnection | null = null;
  private current: ChannelModel | null = null;
  private isBlocked = false;
  private readonly urls: readonly string[];
  /** Queues already reported as kept with another group size: once per process, not at every reconnect. */
  private readonly keptQueues = new Set<string>();

  constructor(
    url: string,
    private readonly topology: Topology,
    private readonly log: Logger,
    private readonly connectionName: string,
  ) {
    super();
    this.urls = parseAmqpUrls(url);
  }

  get connected(): boolean {
    return this.current !== null;
  }
  get blocked(): boolean {
    return this.isBlocked;
  }
  /** The broker connected to now (password hidden), or null. */
  get endpoint(): string | null {
    return this.connection?.currentUrl ?? null;
  }

  /** Resolves at once: connecting (and failing over) runs in the background, announced by 'ready'. */
  start(): Promise<void> {
    const connection = new FailoverConnection({
      urls: this.urls,
      connectionName: this.connectionName,
      setup: (model) =>
        declareTopologyOn(model, this.topology, (queue, brokerMessage) => {
          if (this.keptQueues.has(queue)) return;
          this.keptQueues.add(queue);
          this.log.warn(
            { queue, broker: brokerMessage },
            'queue exists with another x-quorum-initial-group-size; kept as it is (the size only applies at creation: change members with rabbitmq-queues grow/shrink)',
          );
        }),
    });
    this.connection = connection;
    connection.on('connect', (model, url) => {
      this.current = model;
      this.isBlocked = false;
      this.log.info({ url }, 'broker connected, topology declared');
      this.emit('ready', model);
    });
    connection.on('disconnect', (err, url) => {
      this.current = null;
      this.log.warn(
        { err: err.message, url, endpoints: this.urls.length },
        this.urls.length > 1
          ? 'broker connection lost; failing over to the next node'
          : 'broker connection lost; reconnecting',
      );
      this.emit('lost', err);
    });
    connection.on('connect-failed', (err, url) => this.log.warn({ err: err.message, url }, 'broker connect failed'));
    connection.on('blocked', (reason) => {
      this.isBlocked = true;
      this.log.warn({ reason }, 'broker blocked publishing');
      this.emit('blocked', reason);
    });
    connection.on('unblocked', () => {
      this.isBlocked = false;
      this.log.info('broker unblocked');
      this.emit('unblocked');
    });
    connection.on('error', (err) => this.log.warn({ err: err.message }, 'broker connection error'));
    connection.start();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const c = this.connection;
    this.connection = null;
    this.current = null;
    if (c) await c.close();
  }
}
