import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TcpProxy } from '../testkit/tcp-proxy.js';
import { runLeg, type SuiteResult } from './leg.js';
import { PrivateRabbitMQ } from './private-rabbitmq.js';
import { PrivateRedis } from './private-redis.js';
import type { Profile } from './profiles.js';
import type { Teardown } from './teardown.js';
import { note, run } from './util.js';

export type { SuiteResult } from './leg.js';
export { Teardown } from './teardown.js';

export const RECEIVERS = ['a', 'b', 'c'] as const;
/** Receiver whose spool directory is a tiny tmpfs: it fills within seconds of any broker outage. */
export const TINY_SPOOL_RECEIVER = 'c';
const TINY_SPOOL_SIZE = '256k';
/** Segments of that spool: several fit, so a segment can be replayed and deleted while a later one is written. */
const TINY_SPOOL_SEGMENT_BYTES = '32768';
/** The sink's own file system, so that it can be filled (sink-disk-full) without touching the machine's disk. */
const SINK_FS_SIZE = '1g';

export interface SuiteOptions {
  readonly workDir: string;
  /** Overrides the profile's rate (events per second). */
  readonly rate?: number;
}

/**
 * Brings up a private RabbitMQ and Redis, the fleet and the sender, injects the profile's faults while streaming,
 * waits for the sink to catch up, and checks every event. The caller runs `teardown` (whatever happened).
 */
export async function runSuite(profile: Profile, options: SuiteOptions, teardown: Teardown): Promise<SuiteResult> {
  const runId = randomBytes(4).toString('hex');
  const rate = options.rate ?? profile.rate;
  const dir = (name: string) => {
    const p = join(options.workDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const sinkFs = dir('sinkfs');
  const secondaryDir = dir('secondary');
  const spoolDir = dir('spool');
  const logDir = dir('logs');
  note(`profile ${profile.name}: ${profile.steps.length} faults at ${rate} events/s; work dir ${options.workDir}`);

  const rabbit = await PrivateRabbitMQ.create(dir('rabbitmq'));
  teardown.add('stop RabbitMQ', async () => {
    if (rabbit.running) await rabbit.stop();
    await rabbit.kill(); // whatever is left of our node after a failed stop or start (found by its unique name)
  });
  await rabbit.start();
  note(`private RabbitMQ ${rabbit.nodeName} on ${rabbit.port}`);
  const redis = await PrivateRedis.create(dir('redis'));
  teardown.add('stop Redis', () => redis.kill());
  await redis.start();
  note(`private Redis on ${redis.port}`);

  const proxies = new Map<string, TcpProxy>();
  for (const id of RECEIVERS) {
    const proxy = new TcpProxy('127.0.0.1', rabbit.port);
    await proxy.start();
    proxies.set(id, proxy);
  }
  teardown.add('close proxies', async () => {
    for (const p of proxies.values()) await p.cut();
  });

  const tiny = dir(join('spool', TINY_SPOOL_RECEIVER));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${TINY_SPOOL_SIZE}`, 'tmpfs', tiny]);
  teardown.add(`unmount ${tiny}`, async () => {
    await run('umount', [tiny]).catch(() => run('umount', ['-l', tiny]));
  });

  await run('mount', ['-t', 'tmpfs', '-o', `size=${SINK_FS_SIZE}`, 'tmpfs', sinkFs]);
  teardown.add(`unmount ${sinkFs}`, async () => {
    await run('umount', [sinkFs]).catch(() => run('umount', ['-l', sinkFs]));
  });
  const sinkDir = dir(join('sinkfs', 'out'));

  return runLeg(
    {
      profile,
      runId,
      rate,
      workDir: options.workDir,
      fleet: {
        redisUrl: redis.url,
        amqpUrl: rabbit.url,
        receiverAmqpUrl: (id) => `amqp://guest:guest@127.0.0.1:${proxies.get(id)!.port}`,
        spoolDir,
        sinkDir,
        secondaryDir,
        logDir,
        receivers: RECEIVERS,
        workers: 2,
        // A 20 s sink outage must reach the secondary: 4 attempts are ~1.5 s of backoff.
        env: { FANIN_UPLOADER_SINK_MAX_ATTEMPTS: '4' },
        receiverEnv: { [TINY_SPOOL_RECEIVER]: { FANIN_RECEIVER_SPOOL_SEGMENT_BYTES: TINY_SPOOL_SEGMENT_BYTES } },
      },
      queueDepth: (q) => rabbit.queueDepth(q),
      context: { rabbit, redis, proxies, sinkDir, sinkFs },
    },
    teardown,
  );
}

export async function removeWorkDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
