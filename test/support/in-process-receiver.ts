import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { decodeBody, decodeNewEventBatch } from '../../shared/batch-codec.js';
import { loadConfig } from '../../shared/config/load-config.js';
import type { EventEnvelope } from '../../shared/envelope.js';
import { declareTopology, fleetTopology } from '../../shared/amqp/topology.js';
import { runReceiver, type RunningReceiver } from '../../receiver/run-receiver.js';
import { freePorts } from '../../testkit/free-ports.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace, waitFor } from '../../testkit/services.js';

/**
 * One real receiver (runReceiver, as `fanin receiver` runs it) in the test process, on free loopback ports and its own
 * namespace of the real RabbitMQ, with a consumer on `<ns>.new` that decodes every batch it publishes: what landed
 * is exactly what the receiver accepted, without a worker in between.
 */
export class InProcessReceiver {
  readonly events: EventEnvelope[] = [];

  private constructor(
    readonly namespace: string,
    readonly ports: { readonly syslog: number; readonly tls: number; readonly metrics: number },
    private readonly running: RunningReceiver,
    private readonly conn: ChannelModel,
    private readonly channel: Channel,
    private readonly spoolDir: string,
  ) {}

  /** `env`: FANIN_* settings on top of the test defaults (syslog and TLS on free ports, HTTP off). */
  static async start(env: Record<string, string> = {}): Promise<InProcessReceiver> {
    const namespace = uniqueNamespace('recv');
    const [syslog, tls, metrics] = (await freePorts(3)) as [number, number, number];
    const spoolDir = mkdtempSync(join(tmpdir(), 'fanin-recv-spool-'));
    const config = loadConfig({
      env: {
        FANIN_NAMESPACE: namespace,
        FANIN_AMQP_URL: AMQP_URL,
        FANIN_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
        FANIN_RECEIVER_LISTEN_HOST: '127.0.0.1',
        FANIN_RECEIVER_SYSLOG_PORT: String(syslog),
        FANIN_RECEIVER_SYSLOG_TLS_PORT: String(tls),
        FANIN_RECEIVER_HTTP_PORT: '0',
        FANIN_RECEIVER_FORWARD_PORT: '0',
        FANIN_METRICS_HOST: '127.0.0.1',
        FANIN_METRICS_PORT: String(metrics),
        FANIN_RECEIVER_SPOOL_DIR: spoolDir,
        FANIN_DRAIN_TIMEOUT_MS: '4000',
        FANIN_RECEIVER_BATCH_MAX_DELAY_MS: '5',
        ...env,
      },
    });
    const conn = await connect(AMQP_URL);
    const channel = await conn.createChannel();
    // Declared here too (idempotent): the receiver declares it on connect, which may finish after runReceiver returns.
    await declareTopology(channel, fleetTopology(namespace, config.sinks));
    const running = await runReceiver(config);
    const receiver = new InProcessReceiver(namespace, { syslog, tls, metrics }, running, conn, channel, spoolDir);
    await channel.consume(`${namespace}.new`, (msg) => {
      if (!msg) return;
      for (const body of decodeNewEventBatch(msg.content).bodies)
        receiver.events.push(decodeBody(body) as EventEnvelope);
      channel.ack(msg);
    });
    return receiver;
  }

  /** Events whose message contains `marker`. */
  landed(marker: string): EventEnvelope[] {
    return this.events.filter((e) => e.message?.includes(marker) ?? false);
  }

  /** Waits until `count` events with `marker` landed, then a little longer to catch any extra one. */
  async settled(marker: string, count: number, timeoutMs = 10_000): Promise<EventEnvelope[]> {
    await waitFor(
      `${count} events with ${marker}`,
      () => (this.landed(marker).length >= count ? true : undefined),
      timeoutMs,
      20,
    );
    await new Promise((r) => setTimeout(r, 150));
    return this.landed(marker);
  }

  async metricsText(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.ports.metrics}/metrics`)).text();
  }

  async stop(): Promise<void> {
    await this.running.drain();
    await this.channel.close().catch(() => undefined);
    await this.conn.close().catch(() => undefined);
    await cleanupNamespace(this.namespace);
    rmSync(this.spoolDir, { recursive: true, force: true });
  }
}
