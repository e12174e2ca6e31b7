import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { until } from '../util.js';
import { ipIn, type LabHost } from './lab.js';

export interface VipEvent {
  readonly host: string;
  readonly at: number;
  readonly added: boolean;
}

/**
 * Watches the VIP come and go on each host with `ip monitor address` (netlink events, timestamped as they arrive),
 * so the moment keepalived moved it is known to a few milliseconds without polling.
 */
export class VipMonitor {
  readonly events: VipEvent[] = [];
  private readonly holders = new Set<string>();
  private readonly monitors: ChildProcess[] = [];

  constructor(
    private readonly hosts: readonly LabHost[],
    private readonly vip: string,
  ) {}

  async start(): Promise<void> {
    for (const host of this.hosts) {
      const child = spawn('ip', ['-n', host.netns, '-o', 'monitor', 'address'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      this.monitors.push(child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.includes(` ${this.vip}/`)) return;
        const added = !line.startsWith('Deleted');
        this.events.push({ host: host.name, at: Date.now(), added });
        if (added) this.holders.add(host.name);
        else this.holders.delete(host.name);
      });
    }
    // What is there already (the monitors only report changes).
    for (const host of this.hosts) {
      if ((await ipIn(host.netns, '-o', '-4', 'addr', 'show')).includes(` ${this.vip}/`)) this.holders.add(host.name);
    }
  }

  /** Hosts that hold the VIP now (one, unless VRRP is split). */
  current(): string[] {
    return [...this.holders];
  }

  async waitSingleHolder(timeoutMs: number): Promise<string> {
    await until('exactly one host holding the VIP', () => this.holders.size === 1, timeoutMs, 50);
    return [...this.holders][0]!;
  }

  async waitHeldBy(host: string, timeoutMs: number): Promise<void> {
    await until(`the VIP on ${host}`, () => this.holders.size === 1 && this.holders.has(host), timeoutMs, 20);
  }

  /** First time after `since` the VIP was added on / removed from `host`. */
  firstEvent(host: string, added: boolean, since: number): number | null {
    return this.events.find((e) => e.host === host && e.added === added && e.at >= since)?.at ?? null;
  }

  stop(): void {
    for (const m of this.monitors) m.kill('SIGTERM');
    this.monitors.length = 0;
  }
}
