import { randomBytes } from 'node:crypto';
import { run } from '../util.js';

/** One simulated host: a network namespace with one interface (eth0) on the lab's LAN. */
export interface LabHost {
  /** Short name used in logs and results (hostA, hostB). */
  readonly name: string;
  readonly netns: string;
  /** The host's own address on the LAN (not the VIP). */
  readonly address: string;
}

/**
 * Two hosts and a LAN, built from network namespaces: a "lan" namespace holds a bridge, and veth pairs join it to
 * hostA, hostB and the root namespace (the root end carries `rootAddress`, where the broker proxy listens and the
 * senders send from). The bridge lives in a namespace of its own so that the root namespace's firewall (Docker sets
 * FORWARD to DROP, and br_netfilter applies it to bridged frames) cannot cut VRRP between the hosts.
 */
export class NetnsLab {
  readonly hosts: readonly [LabHost, LabHost];
  readonly lanNetns: string;
  /** Root namespace's end of its veth pair. */
  readonly rootLink: string;
  readonly rootAddress: string;
  readonly vip: string;
  readonly prefixLength = 24;
  private created: string[] = [];
  private rootLinkCreated = false;

  private constructor(
    readonly tag: string,
    readonly subnet: string,
  ) {
    const ns = (n: string) => `fanin-${tag}-${n}`;
    this.lanNetns = ns('lan');
    this.hosts = [
      { name: 'hostA', netns: ns('hostA'), address: `${subnet}.11` },
      { name: 'hostB', netns: ns('hostB'), address: `${subnet}.12` },
    ];
    this.rootLink = `fv${tag}`;
    this.rootAddress = `${subnet}.1`;
    this.vip = `${subnet}.100`;
  }

  /**
   * A lab on a 10.213.x.0/24 no route of the root namespace touches (another lab running at the same time has one).
   * Call `destroy` whatever happens next: it removes what was created so far.
   */
  static async create(): Promise<NetnsLab> {
    const routes =
      (await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'])) + (await run('ip', ['-4', '-o', 'addr']));
    let third = 0;
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = 200 + Math.floor(Math.random() * 50);
      if (!routes.includes(`10.213.${candidate}.`)) {
        third = candidate;
        break;
      }
    }
    if (third === 0) throw new Error('no free 10.213.200-249.0/24 subnet for the lab');
    const lab = new NetnsLab(randomBytes(2).toString('hex'), `10.213.${third}`);
    return lab;
  }

  async build(): Promise<void> {
    const p = `/${this.prefixLength}`;
    await this.addNetns(this.lanNetns);
    await ipIn(this.lanNetns, 'link', 'add', 'br0', 'type', 'bridge');
    await ipIn(this.lanNetns, 'link', 'set', 'br0', 'up');
    await ipIn(this.lanNetns, 'link', 'set', 'lo', 'up');
    // Root end: created in the root namespace, its peer pushed into the lan namespace.
    await run('ip', ['link', 'add', this.rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', this.lanNetns]);
    this.rootLinkCreated = true;
    await run('ip', ['addr', 'add', this.rootAddress + p, 'dev', this.rootLink]);
    await run('ip', ['link', 'set', this.rootLink, 'up']);
    await this.port('root');
    for (const [i, host] of this.hosts.entries()) {
      const port = `h${i}`;
      await this.addNetns(host.netns);
      await ipIn(this.lanNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns);
      await this.port(port);
      await ipIn(host.netns, 'link', 'set', 'lo', 'up');
      await ipIn(host.netns, 'addr', 'add', host.address + p, 'dev', 'eth0');
      await ipIn(host.netns, 'link', 'set', 'eth0', 'up');
    }
  }

  /** Removes the namespaces (their veths go with them) and the root veth; never throws. */
  async destroy(): Promise<void> {
    for (const ns of this.created.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.created = [];
    if (this.rootLinkCreated) await run('ip', ['link', 'del', this.rootLink]).catch(() => undefined); // already gone with its peer
    this.rootLinkCreated = false;
  }

  private async addNetns(name: string): Promise<void> {
    await run('ip', ['netns', 'add', name]);
    this.created.push(name);
  }

  private async port(name: string): Promise<void> {
    await ipIn(this.lanNetns, 'link', 'set', name, 'master', 'br0');
    await ipIn(this.lanNetns, 'link', 'set', name, 'up');
  }
}

/** `ip -n <netns> …` */
export function ipIn(netns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', netns, ...args]);
}
