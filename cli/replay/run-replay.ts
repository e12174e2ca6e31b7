import { connect, type ChannelModel } from 'amqplib';
import { parseAmqpUrls, redactUrl } from '../../shared/amqp/broker-endpoints.js';
import { topologyNames } from '../../shared/amqp/topology.js';
import type { Config } from '../../shared/config/settings.js';
import { resolveSinkPlans } from '../../uploader/sink-plan.js';
import { replayDeadQueue } from './dead-queue-replay.js';
import { selectsReason, selectsSink, type ReplaySelection } from './replay-selection.js';
import { ReplayTally } from './replay-tally.js';
import { replaySecondaryFiles, type SecondarySink } from './secondary-replay.js';

export interface ReplayRun {
  readonly selection: ReplaySelection;
  readonly dryRun: boolean;
  readonly window: number;
  readonly batchEvents: number;
  /** Milliseconds between progress lines on stderr. */
  readonly progressMs: number;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * `fanin replay`: first one pass over `<ns>.dead`, then the secondary files of the selected sinks. Prints a progress
 * line while it runs and the summary at the end, also after a failure (what was confirmed stays replayed; the rest
 * stays where it was). The first SIGINT or SIGTERM stops taking new batches and finishes what is in flight.
 */
export async function runReplay(config: Config, run: ReplayRun): Promise<'done' | 'stopped'> {
  const plans = resolveSinkPlans(config);
  const names = topologyNames(config.namespace);
  const tally = new ReplayTally(run.dryRun);
  const model = await connectToBroker(config.amqpUrl);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130); // a second signal: the batches in flight stay where they were (unacked, unmarked)
    stopping = true;
    run.err('replay: stopping after the batches in flight (again to stop at once)');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const started = Date.now();
  const progress = setInterval(() => run.err(tally.progressLine(Date.now() - started)), run.progressMs);
  progress.unref();
  try {
    const keepGoing = () => !stopping;
    // `--reason secondary` alone: a pass over <ns>.dead would only copy every message to its tail.
    if (!(run.selection.reasons?.size === 1 && run.selection.reasons.has('secondary'))) {
      await replayDeadQueue(
        model,
        {
          namespace: config.namespace,
          configuredSinks: config.sinks,
          selection: run.selection,
          dryRun: run.dryRun,
          window: run.window,
          keepGoing,
        },
        tally,
      );
    }
    if (selectsReason(run.selection, 'secondary')) {
      const sinks: SecondarySink[] = plans
        .filter((p) => p.secondaryDir !== null && selectsSink(run.selection, p.name))
        .map((p) => ({ sink: p.name, dir: p.secondaryDir!, queue: names.sinkQueue(p.name) }));
      await replaySecondaryFiles(
        model,
        { sinks, dryRun: run.dryRun, window: run.window, batchEvents: run.batchEvents, keepGoing },
        tally,
      );
    }
    if (stopping) tally.notes.push('stopped before the end: what was not looked at is where it was');
    return stopping ? 'stopped' : 'done';
  } finally {
    clearInterval(progress);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await model.close().catch(() => undefined);
    run.out(tally.summary());
  }
}

/** The first node of `amqpUrl` that answers; a one-shot command fails rather than waiting for a broker. */
async function connectToBroker(amqpUrl: string): Promise<ChannelModel> {
  const failures: string[] = [];
  for (const url of parseAmqpUrls(amqpUrl)) {
    try {
      const model = await connect(url, { clientProperties: { connection_name: 'fanin replay' }, timeout: 10_000 });
      // A lost connection fails the calls in flight; without a listener its 'error' would crash the process.
      model.on('error', () => undefined);
      return model;
    } catch (err) {
      failures.push(`${redactUrl(url)}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot connect to RabbitMQ (${failures.join('; ')})`);
}
