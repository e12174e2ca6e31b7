import { randomBytes } from 'node:crypto';
import { SinkReader } from '../sink-reader.js';
import { note, sleep } from '../util.js';
import { account, waitLanded, type ProtocolAccount } from './accounting.js';
import { HOST_SYSLOG_PORT, type VipBench } from './bench-setup.js';
import { NumberedStream, type StreamTarget } from './numbered-stream.js';

export interface RoundTiming {
  /** Lines per second, per protocol. */
  readonly rate: number;
  /** Streaming before the kill. */
  readonly beforeKillMs: number;
  /** The killed receiver stays down this long after the kill (after the VIP moved, in active/standby). */
  readonly downMs: number;
  /** Streaming after the killed receiver is back and ready. */
  readonly afterRestartMs: number;
}

export type Design = 'active-standby' | 'active-active';

export interface RoundResult {
  readonly design: Design;
  readonly round: number;
  readonly killed: string;
  /** The receiver that carried on alone. */
  readonly survivor: string;
  readonly killAt: string;
  /** Active/standby: from the kill until the VIP was gone from the killed host and on the other (ip monitor), ms. */
  readonly vipRemovedMs: number | null;
  readonly vipAddedMs: number | null;
  readonly tcp: ProtocolAccount;
  readonly udp: ProtocolAccount;
  /** Every line landed or nothing more arrived (false: counts may still be short). */
  readonly settled: boolean;
}

/**
 * One round of one design: TCP and UDP syslog streams of numbered lines at `rate` each, the receiver that matters
 * SIGKILLed mid-stream (active/standby: the one holding the VIP; active/active: the round's turn), kept down for
 * `downMs` (a receiver that a supervisor restarted at once might never lose the VIP), started again, then every line
 * accounted for in the sink.
 */
export async function runRound(
  bench: VipBench,
  design: Design,
  round: number,
  timing: RoundTiming,
): Promise<RoundResult> {
  const { lab, receivers, monitor } = bench;
  await Promise.all(receivers.map((r) => r.waitReady()));
  const holder = await monitor.waitSingleHolder(30_000);
  const killedIndex = design === 'active-standby' ? lab.hosts.findIndex((h) => h.name === holder) : round % 2;
  const survivorIndex = 1 - killedIndex;
  const killedHost = lab.hosts[killedIndex]!;
  const survivorHost = lab.hosts[survivorIndex]!;
  const targets: StreamTarget[] =
    design === 'active-standby'
      ? [{ host: lab.vip, port: HOST_SYSLOG_PORT }]
      : lab.hosts.map((h) => ({ host: h.address, port: HOST_SYSLOG_PORT }));
  const seconds = (timing.beforeKillMs + timing.downMs + timing.afterRestartMs) / 1000 + 60;
  const maxLines = Math.ceil(timing.rate * seconds);
  const streams = (['tcp', 'udp'] as const).map(
    (p) => new NumberedStream(p, randomBytes(5).toString('hex'), timing.rate, targets, maxLines),
  );
  const readers = streams.map((s) => new SinkReader(bench.sinkDirs, s.runId));
  note(
    `${design} round ${round + 1}: ${timing.rate} lines/s per protocol to ${targets.map((t) => t.host).join(' and ')}; killing ${killedHost.name}'s receiver in ${timing.beforeKillMs / 1000} s`,
  );

  for (const s of streams) s.start();
  let killAt = 0;
  try {
    await sleep(timing.beforeKillMs);
    killAt = await receivers[killedIndex]!.kill();
    if (design === 'active-standby') {
      await monitor.waitHeldBy(survivorHost.name, 30_000);
      note(
        `VIP on ${survivorHost.name} ${monitor.firstEvent(survivorHost.name, true, killAt)! - killAt} ms after the kill`,
      );
    }
    await sleep(timing.downMs);
    receivers[killedIndex]!.start();
    await receivers[killedIndex]!.waitReady();
    await sleep(timing.afterRestartMs);
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
  }
  const settled = await waitLanded(
    streams.map((stream, i) => ({ stream, reader: readers[i]! })),
    5000,
    90_000,
  );
  await Promise.all(readers.map((r) => r.stop()));
  const survivorId = receivers[survivorIndex]!.spec.id;
  const [tcp, udp] = streams.map((s, i) => account(s, readers[i]!, killAt, survivorId)) as [
    ProtocolAccount,
    ProtocolAccount,
  ];
  const vipEvent = (host: string, added: boolean) => {
    const at = design === 'active-standby' ? monitor.firstEvent(host, added, killAt) : null;
    return at === null ? null : at - killAt;
  };
  const result: RoundResult = {
    design,
    round: round + 1,
    killed: receivers[killedIndex]!.spec.id,
    survivor: survivorId,
    killAt: new Date(killAt).toISOString(),
    vipRemovedMs: vipEvent(killedHost.name, false),
    vipAddedMs: vipEvent(survivorHost.name, true),
    tcp,
    udp,
    settled,
  };
  note(
    `${design} round ${round + 1}: tcp lost ${tcp.lost}/${tcp.sent} dup ${tcp.duplicates}; udp lost ${udp.lost}/${udp.sent} dup ${udp.duplicates}; ` +
      `first line on ${survivorId} after the kill: tcp ${tcp.otherFirstAcceptMs} ms, udp ${udp.otherFirstAcceptMs} ms${settled ? '' : ' (NOT SETTLED)'}`,
  );
  return result;
}
