import { hostname } from 'node:os';
import type { ChannelModel } from 'amqplib';
import type { Gauge } from 'prom-client';
import { parseAmqpUrls, redactUrl } from '../shared/amqp/broker-endpoints.js';
import { FailoverConnection } from '../shared/amqp/failover-connection.js';
import { ConfigError } from '../shared/config/config-error.js';
import type { Logger } from '../shared/logger.js';
import { ThrottledWarning } from './inputs/throttled-warning.js';
import { answerHolderQuestions, askLeaseHolder, type LeaseHolder } from './receiver-id-holder.js';

/**
 * Heartbeat of the lease's own connection. The broker drops a dead holder's connection, and with it the lease, after
 * missing a few heartbeats, so a short heartbeat frees a crashed receiver's id far sooner than the publishing
 * connection's default would.
 */
export const LEASE_HEARTBEAT_SECONDS = 5;
/** How long a lease held by a connection that does not answer may be a dead holder's lingering connection. */
export const LEASE_LINGER_MS = 4 * LEASE_HEARTBEAT_SECONDS * 1000;
/** A live holder answers within milliseconds; a second covers a busy broker. */
const ASK_TIMEOUT_MS = 1000;
const START_RETRY_MS = 500;
const RUNNING_RETRY_MS = 2000;

export function leaseQueueName(namespace: string, receiverId: string): string {
  return `${namespace}.receiver-lease.${receiverId}`;
}

/** Another live receiver uses this receiver id in this namespace: a configuration error, so the process must not start. */
export class ReceiverIdInUseError extends ConfigError {
  readonly reason = 'RECEIVER_ID_IN_USE';
  constructor(receiverId: string, namespace: string, amqpUrl: string, holder: LeaseHolder | null, waitedMs: number) {
    const who = holder
      ? `the receiver on host ${holder.host} (pid ${holder.pid}, running since ${holder.startedAt}) holds it`
      : `its lease (queue "${leaseQueueName(namespace, receiverId)}") stayed held for ${Math.round(waitedMs / 1000)} s by a connection that does not answer`;
    super([
      `receiver.id "${receiverId}" is already in use in namespace "${namespace}" on ${redactUrl(amqpUrl)}: ${who}.`,
      'Every receiver needs an id of its own, or each copy of an event is counted as a repeat: set receiver.id ' +
        '(FANIN_RECEIVER_ID) to an id no other receiver uses, or stop the other receiver first (docs/receiver-id.md).',
    ]);
  }
}

/** 'held': the id is ours. 'unchecked': the broker could not be asked; the lease is taken once it answers. */
export type LeaseAtStart = 'held' | 'unchecked';

export interface ReceiverIdLeaseOptions {
  readonly amqpUrl: string;
  readonly namespace: string;
  readonly receiverId: string;
  readonly bootId: string;
  /** A holder that is draining releases the lease within its own drain bound: the start waits that long for it. */
  readonly drainTimeoutMs: number;
}

interface Starting {
  readonly resolve: (r: LeaseAtStart) => void;
  readonly reject: (e: Error) => void;
  readonly t0: number;
  deadline: number;
  waitNoted: boolean;
  readonly noAnswerTimer: NodeJS.Timeout;
}

/** A stretch of time during which someone else holds the lease while this receiver runs. */
interface ConflictEpisode {
  readonly since: number;
  /** The gauge is up and the error logged. */
  reported: boolean;
  /** The "probably our own previous connection" warning is logged. */
  noted: boolean;
}

/**
 * One receiver id, one live receiver per namespace and broker. The receiver holds an exclusive queue named after its
 * id on a connection of its own; RabbitMQ refuses the same exclusive queue to every other connection
 * (RESOURCE_LOCKED) and deletes it when the owning connection closes, so a SIGKILLed receiver's lease is free as
 * soon as the kernel closes its socket, and a dead host's within a few heartbeats.
 *
 * At start a lease held by a receiver that answers means a second receiver with this id: the start is refused. A
 * holder that does not answer may be a dead one whose connection lingers, so the start waits for it to go, up to
 * LEASE_LINGER_MS. Once running, the receiver never stops for the lease (its own stale connection can hold it for a
 * moment after a network cut): it keeps working, retries in the background, and reports a conflict on the gauge
 * and in the log.
 */
export class ReceiverIdLease {
  private readonly queue: string;
  private readonly startedAt = new Date().toISOString();
  private recovering: FailoverConnection | null = null;
  private model: ChannelModel | null = null;
  private draining = false;
  private closed = false;
  private answered = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private starting: Starting | null = null;
  private episode: ConflictEpisode | null = null;
  /** A broker that refuses the declare (permissions) would otherwise log at every retry. */
  private readonly claimFailure: ThrottledWarning;

  constructor(
    private readonly o: ReceiverIdLeaseOptions,
    private readonly conflictGauge: Gauge,
    private readonly log: Logger,
  ) {
    this.queue = leaseQueueName(o.namespace, o.receiverId);
    this.claimFailure = new ThrottledWarning(log, 'cannot take the receiver id lease; retrying', 60_000);
    conflictGauge.set(0);
  }

  /** Resolves once the lease is held or cannot be checked; rejects with ReceiverIdInUseError. */
  start(): Promise<LeaseAtStart> {
    const result = new Promise<LeaseAtStart>((resolve, reject) => {
      const t0 = Date.now();
      const noAnswerTimer = setTimeout(() => {
        if (!this.answered) this.startUnchecked('the broker did not answer');
      }, LEASE_LINGER_MS);
      this.starting = { resolve, reject, t0, deadline: t0 + LEASE_LINGER_MS, waitNoted: false, noAnswerTimer };
    });
    // The same endpoints and failover as the publishing connection: on a cluster the lease (an exclusive queue, whose
    // name is cluster-wide) moves to a surviving node with it.
    const recovering = new FailoverConnection({
      urls: parseAmqpUrls(this.o.amqpUrl),
      dialUrl: leaseUrl,
      connectionName: `fanin receiver ${this.o.receiverId} id lease`,
    });
    this.recovering = recovering;
    recovering.on('connect', (model) => {
      this.model = model;
      void this.attempt(model);
    });
    recovering.on('disconnect', () => {
      this.model = null;
      this.clearRetry();
    });
    recovering.on('connect-failed', (err) => {
      if (this.starting && this.model === null) this.startUnchecked(err.message);
    });
    recovering.on('error', () => undefined); // 'disconnect' carries the consequence
    recovering.start();
    return result;
  }

  /** The holder answers "draining" from now on, so a replacement waits for the lease instead of being refused. */
  startDraining(): void {
    this.draining = true;
  }

  /** Closes the lease's connection: the broker deletes the lease at once. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearRetry();
    const r = this.recovering;
    this.recovering = null;
    this.model = null;
    if (r) await r.close().catch(() => undefined);
  }

  private async attempt(model: ChannelModel): Promise<void> {
    this.retryTimer = null;
    if (this.closed || model !== this.model) return;
    let outcome: 'held' | { holder: LeaseHolder | null };
    try {
      outcome = await this.claim(model);
    } catch (err) {
      if (this.closed || model !== this.model) return; // the connection went; the next one tries again
      if (this.starting) this.startUnchecked((err as Error).message);
      else this.claimFailure.warn({ err: (err as Error).message, queue: this.queue });
      this.retry(model, RUNNING_RETRY_MS);
      return;
    }
    if (this.closed || model !== this.model) return;
    this.answered = true;
    if (outcome === 'held') this.onHeld();
    else this.onHeldElsewhere(model, outcome.holder);
  }

  private async claim(model: ChannelModel): Promise<'held' | { holder: LeaseHolder | null }> {
    const channel = await model.createChannel();
    channel.on('error', () => undefined); // RESOURCE_LOCKED closes the channel; handled below
    try {
      await channel.assertQueue(this.queue, { exclusive: true, durable: false });
    } catch (err) {
      await channel.close().catch(() => undefined);
      if ((err as { code?: unknown }).code !== 405) throw err;
      return { holder: await askLeaseHolder(model, this.queue, ASK_TIMEOUT_MS) };
    }
    await answerHolderQuestions(channel, this.queue, () => this.holder());
    // The queue was deleted (see answerHolderQuestions) or the channel failed while the connection lives on.
    channel.once('close', () => {
      if (this.closed || model !== this.model) return;
      this.retry(model, START_RETRY_MS);
    });
    return 'held';
  }

  private onHeld(): void {
    const s = this.starting;
    if (this.episode?.reported)
      this.log.info({ queue: this.queue }, 'receiver id lease taken back: no other receiver holds this id now');
    else this.log.info({ queue: this.queue, waitedMs: s ? Date.now() - s.t0 : undefined }, 'receiver id lease held');
    this.episode = null;
    this.conflictGauge.set(0);
    if (s) {
      this.starting = null;
      clearTimeout(s.noAnswerTimer);
      s.resolve('held');
    }
  }

  private onHeldElsewhere(model: ChannelModel, holder: LeaseHolder | null): void {
    const now = Date.now();
    // Our own previous connection cannot answer (it is dead); an answer with our boot id would be one anyway.
    const live = holder !== null && holder.bootId !== this.o.bootId ? holder : null;
    const s = this.starting;
    if (s) {
      if (live?.draining) s.deadline = Math.max(s.deadline, s.t0 + this.o.drainTimeoutMs + LEASE_LINGER_MS);
      if ((live && !live.draining) || now >= s.deadline) {
        this.starting = null;
        clearTimeout(s.noAnswerTimer);
        const error = new ReceiverIdInUseError(this.o.receiverId, this.o.namespace, this.o.amqpUrl, live, now - s.t0);
        void this.close().then(() => s.reject(error));
        return;
      }
      if (!s.waitNoted) {
        s.waitNoted = true;
        this.log.warn(
          { queue: this.queue, holder: live, waitMs: s.deadline - now },
          live
            ? 'receiver id lease held by a receiver that is draining; waiting for it to exit'
            : 'receiver id lease held by a connection that does not answer (a receiver that died moments ago?); waiting for the broker to drop it',
        );
      }
      this.retry(model, START_RETRY_MS);
      return;
    }
    const episode = (this.episode ??= { since: now, reported: false, noted: false });
    if (live || now - episode.since >= LEASE_LINGER_MS) {
      if (!episode.reported) {
        episode.reported = true;
        this.conflictGauge.set(1);
        this.log.error(
          { queue: this.queue, namespace: this.o.namespace, holder: live },
          'another receiver uses this receiver id: events both receive are counted as repeats; give one of them another receiver.id (docs/receiver-id.md)',
        );
      }
    } else if (!episode.noted) {
      episode.noted = true;
      this.log.warn(
        { queue: this.queue },
        "receiver id lease held by a connection that does not answer, probably this receiver's previous one, which the broker has not dropped yet; still working, retrying",
      );
    }
    this.retry(model, RUNNING_RETRY_MS);
  }

  private startUnchecked(why: string): void {
    const s = this.starting;
    if (!s) return;
    this.starting = null;
    clearTimeout(s.noAnswerTimer);
    this.log.warn(
      { err: why, url: redactUrl(this.o.amqpUrl) },
      'cannot ask the broker whether this receiver id is in use elsewhere; starting anyway, the id lease is taken once the broker answers',
    );
    s.resolve('unchecked');
  }

  private holder(): LeaseHolder {
    return {
      receiverId: this.o.receiverId,
      bootId: this.o.bootId,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      draining: this.draining,
    };
  }

  private retry(model: ChannelModel, ms: number): void {
    this.clearRetry();
    this.retryTimer = setTimeout(() => void this.attempt(model), ms);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** The configured broker URL with the lease's own short heartbeat. */
function leaseUrl(amqpUrl: string): string {
  const u = new URL(amqpUrl);
  u.searchParams.set('heartbeat', String(LEASE_HEARTBEAT_SECONDS));
  return u.toString();
}
