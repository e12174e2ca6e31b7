import {
  freezeRedis,
  freezeWorker,
  killReceiver,
  killSpoolingReceiver,
  killUploader,
  killWorker,
  memoryAlarm,
  partitionReceiver,
  redisOutOfMemory,
  restartRabbitMQ,
  sinkDiskFull,
  sinkUnwritable,
  wipeRedis,
  type Fault,
} from './faults.js';

export interface Step {
  readonly fault: Fault;
  /** Streaming continues this long after the heal before the next fault. */
  readonly pauseMs: number;
}

export interface Profile {
  readonly name: string;
  /** New events per second (plus ~10% repeats). */
  readonly rate: number;
  readonly baselineMs: number;
  readonly steps: readonly Step[];
  /** Streaming after the last pause, before the sender stops. */
  readonly cooldownMs: number;
  /** Longest wait for the sink to catch up after the sender stopped. */
  readonly drainMs: number;
}

const s = (fault: Fault, pauseS: number): Step => ({ fault, pauseMs: pauseS * 1000 });

/** `npm test`: every kind of fault once, in about three minutes of streaming. */
export const shortProfile: Profile = {
  name: 'short',
  rate: 400,
  baselineMs: 6000,
  cooldownMs: 4000,
  drainMs: 60_000,
  steps: [
    s(killReceiver('a'), 6),
    s(killWorker(1), 5),
    s(wipeRedis(2000), 6),
    s(killUploader(), 5),
    s(freezeWorker(2, 15_000), 5),
    s(sinkUnwritable(20_000), 8),
    s(restartRabbitMQ(3000), 10),
    s(memoryAlarm(8000), 6),
    s(partitionReceiver('c', 6000), 8),
  ],
};

/**
 * `npm run chaos`: 31 faults — each component type killed several times, every kind of the short profile at least
 * twice, and faults beyond issue 5's list: a receiver killed while it spools, a per-receiver partition, the sink's
 * disk full, Redis out of memory and Redis frozen.
 */
export const longProfile: Profile = {
  name: 'long',
  rate: 500,
  baselineMs: 8000,
  cooldownMs: 6000,
  drainMs: 120_000,
  steps: [
    s(killReceiver('a'), 8),
    s(killWorker(1), 8),
    s(killUploader(), 8),
    s(wipeRedis(3000), 10),
    s(killReceiver('b'), 8),
    s(freezeWorker(1, 15_000), 8),
    s(sinkUnwritable(20_000), 10),
    s(killReceiver('c'), 8),
    s(restartRabbitMQ(5000), 12),
    s(killWorker(2), 8),
    s(memoryAlarm(10_000), 10),
    s(partitionReceiver('c', 15_000), 10),
    s(killUploader(), 8),
    s(killSpoolingReceiver('b', 10_000), 10),
    s(wipeRedis(2000), 10),
    s(killReceiver('a'), 8),
    s(freezeWorker(2, 15_000), 8),
    s(partitionReceiver('a', 10_000), 10),
    s(partitionReceiver('c', 6000), 10),
    s(killWorker(1), 8),
    s(sinkUnwritable(20_000), 10),
    s(restartRabbitMQ(3000), 12),
    s(killReceiver('b'), 8),
    s(killUploader(), 8),
    s(memoryAlarm(8000), 10),
    s(killWorker(2), 8),
    s(killReceiver('c'), 8),
    s(wipeRedis(2000), 10),
    s(sinkDiskFull(20_000), 10),
    s(freezeRedis(10_000), 10),
    s(redisOutOfMemory(5000), 10),
  ],
};

export const profiles: Record<string, Profile> = { short: shortProfile, long: longProfile };

/** The profile's steps whose fault kind is listed (CHAOS_ONLY=kind,kind…: to study one kind of fault). */
export function onlyKinds(profile: Profile, kinds: readonly string[]): Profile {
  return {
    ...profile,
    name: `${profile.name} (only ${kinds.join(', ')})`,
    steps: profile.steps.filter((st) => kinds.includes(st.fault.kind)),
  };
}
