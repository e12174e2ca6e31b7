import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AMQP_URL, cleanupNamespace, REDIS_URL } from '../../testkit/services.js';
import { TcpProxy } from '../../testkit/tcp-proxy.js';
import { Fleet } from '../fleet.js';
import type { Teardown } from '../suite.js';
import { note } from '../util.js';
import { keepalivedConfig, NetnsKeepalived } from './keepalived.js';
import { NetnsLab } from './lab.js';
import { NetnsReceiver } from './netns-receiver.js';
import { VipMonitor } from './vip-monitor.js';

/** Ports inside each host's namespace (a namespace has ports of its own: these collide with nothing outside). */
export const HOST_SYSLOG_PORT = 10514;
export const HOST_METRICS_PORT = 10601;
const RECEIVER_IDS = ['a', 'b'] as const;
/** Priority decides only an election both hosts enter together (with nopreempt a master keeps the VIP): the hosts start
 * apart by some milliseconds, so with a short advert interval the first one up may win. */
const PRIORITIES = [150, 100] as const;

export interface VipBench {
  readonly lab: NetnsLab;
  /** Index-aligned with lab.hosts. */
  readonly receivers: readonly NetnsReceiver[];
  readonly keepalived: readonly NetnsKeepalived[];
  readonly monitor: VipMonitor;
  readonly fleet: Fleet;
  readonly namespace: string;
  readonly sinkDirs: readonly { path: string; secondary: boolean }[];
  readonly workDir: string;
}

export interface VrrpSettings {
  /** Seconds between VRRP adverts. */
  readonly advertIntervalS: number;
  /** Seconds between track-script runs. */
  readonly checkIntervalS: number;
  /** Also track a state file the receiver's supervisor writes when it starts and exits (inotify: no polling delay). */
  readonly trackStateFile: boolean;
}

/**
 * Builds the lab: two hosts, each with a fanin receiver and keepalived holding one VIP between them; the broker
 * (127.0.0.1:5672, guest is loopback-only) reached through a proxy on the root namespace's LAN address; one dedup worker
 * and the uploader (file sink) in the root namespace. Every resource is registered with `teardown` as it comes up.
 */
export async function setUpBench(workDir: string, vrrp: VrrpSettings, teardown: Teardown): Promise<VipBench> {
  const lab = await NetnsLab.create();
  teardown.add('remove the lab namespaces', () => lab.destroy());
  await lab.build();
  note(
    `lab ${lab.tag}: ${lab.hosts.map((h) => `${h.name} ${h.address}`).join(', ')}, VIP ${lab.vip}, root ${lab.rootAddress}`,
  );

  const proxy = new TcpProxy('127.0.0.1', 5672, lab.rootAddress);
  await proxy.start();
  teardown.add('close the broker proxy', () => proxy.cut());
  const amqpViaProxy = `amqp://guest:guest@${lab.rootAddress}:${proxy.port}`;

  const namespace = `vip-${lab.tag}`;
  teardown.add(`delete the ${namespace} queues and keys`, () => cleanupNamespace(namespace));
  const dir = (name: string) => {
    const p = join(workDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const sinkDir = dir('sink');
  const secondaryDir = dir('secondary');
  const logDir = dir('logs');
  const fleet = await Fleet.create({
    namespace,
    redisUrl: REDIS_URL,
    amqpUrl: AMQP_URL,
    receiverAmqpUrl: () => AMQP_URL,
    spoolDir: dir('unused-spool'),
    sinkDir,
    secondaryDir,
    logDir,
    receivers: [],
    workers: 1,
  });
  teardown.add('stop the worker and the uploader', () => fleet.stop());
  await fleet.start();

  const receivers = lab.hosts.map(
    (host, i) =>
      new NetnsReceiver({
        id: RECEIVER_IDS[i]!,
        netns: host.netns,
        address: host.address,
        syslogPort: HOST_SYSLOG_PORT,
        metricsPort: HOST_METRICS_PORT,
        amqpUrl: amqpViaProxy,
        namespace,
        spoolDir: dir(`spool-${host.name}`),
        logPath: join(logDir, `receiver-${RECEIVER_IDS[i]}.log`),
        stateFile: vrrp.trackStateFile ? join(workDir, `receiver-${host.name}.exited`) : null,
      }),
  );
  teardown.add('stop the receivers', async () => {
    await Promise.all(receivers.map((r) => r.stop()));
  });
  for (const r of receivers) r.start();
  await Promise.all(receivers.map((r) => r.waitReady()));

  const monitor = new VipMonitor(lab.hosts, lab.vip);
  await monitor.start();
  teardown.add('stop the VIP monitor', () => {
    monitor.stop();
    return Promise.resolve();
  });

  const virtualRouterId = 1 + Math.floor(Math.random() * 254);
  const keepalived = lab.hosts.map((host) => new NetnsKeepalived(host.netns, host.name, logDir));
  teardown.add('stop keepalived', async () => {
    await Promise.all(keepalived.map((k) => k.stop()));
  });
  lab.hosts.forEach((host, i) => {
    const peer = lab.hosts[1 - i]!;
    keepalived[i]!.start(
      keepalivedConfig({
        routerId: `fanin_${host.name}`,
        iface: 'eth0',
        selfAddress: host.address,
        peerAddress: peer.address,
        vip: lab.vip,
        prefixLength: lab.prefixLength,
        virtualRouterId,
        priority: PRIORITIES[i]!,
        advertIntervalS: vrrp.advertIntervalS,
        healthUrl: `http://127.0.0.1:${HOST_METRICS_PORT}/healthz`,
        checkIntervalS: vrrp.checkIntervalS,
        stateFile: receivers[i]!.spec.stateFile,
      }),
    );
  });
  const holder = await monitor.waitSingleHolder(30_000);
  note(`keepalived elected ${holder} for ${lab.vip}`);
  return {
    lab,
    receivers,
    keepalived,
    monitor,
    fleet,
    namespace,
    sinkDirs: [
      { path: sinkDir, secondary: false },
      { path: secondaryDir, secondary: true },
    ],
    workDir,
  };
}
