import { run } from './util.js';

/** Tags every rule of a cut, so a rule a killed suite left behind can be found and removed. */
const COMMENT_PREFIX = 'fanin-chaos-cut-';

export interface CutTarget {
  /** Ports the server listens on (a RabbitMQ node's AMQP and distribution ports). */
  readonly ports: readonly number[];
  /** The server's cgroup v2, relative to the mount (`-m cgroup --path`): drops what it sends on connections it dialed. */
  readonly cgroupPath: string | null;
  /** Names the rules; the first listening port, unique on this machine. */
  readonly tag: string;
}

/** The iptables rules (without -I/-D) that cut the target off: nothing reaches its listeners, nothing it sends leaves. */
export function cutRules(target: CutTarget): string[][] {
  const comment = ['-m', 'comment', '--comment', `${COMMENT_PREFIX}${target.tag}`];
  const rules: string[][] = [];
  for (const port of target.ports) {
    rules.push(['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), ...comment, '-j', 'DROP']);
    rules.push(['INPUT', '-i', 'lo', '-p', 'tcp', '--sport', String(port), ...comment, '-j', 'DROP']);
  }
  if (target.cgroupPath) rules.push(['OUTPUT', '-m', 'cgroup', '--path', target.cgroupPath, ...comment, '-j', 'DROP']);
  return rules;
}

/**
 * A server cut from everything on this machine by iptables rules that DROP (no reset: peers and clients see silence,
 * as with a pulled cable). `heal` removes exactly the rules `cut` inserted; `removeLeftovers` those of an earlier run
 * that died before it could heal.
 */
export class NodePartition {
  private inserted: string[][] = [];

  constructor(private readonly target: CutTarget) {}

  get active(): boolean {
    return this.inserted.length > 0;
  }

  async cut(): Promise<void> {
    for (const rule of cutRules(this.target)) {
      await run('iptables', ['-w', '5', '-I', ...rule], 15_000);
      this.inserted.push(rule);
    }
  }

  /** Removes every rule inserted; tries them all even if one fails, then reports the failures. */
  async heal(): Promise<void> {
    const failed: string[] = [];
    for (const rule of this.inserted.reverse()) {
      await run('iptables', ['-w', '5', '-D', ...rule], 15_000).catch((err: Error) => failed.push(err.message));
    }
    this.inserted = [];
    if (failed.length > 0) throw new Error(`could not remove ${failed.length} iptables rules: ${failed.join('; ')}`);
  }

  /** Deletes rules tagged for this target that are still installed (a previous run SIGKILLed mid-cut). */
  static async removeLeftovers(tag: string): Promise<number> {
    let removed = 0;
    for (const chain of ['INPUT', 'OUTPUT']) {
      const listed = await run('iptables', ['-w', '5', '-S', chain], 15_000);
      for (const line of listed.split('\n')) {
        const words = line.trim().split(/\s+/);
        const comment = words[words.indexOf('--comment') + 1]?.replace(/"/g, '');
        if (words[0] !== '-A' || comment !== `${COMMENT_PREFIX}${tag}`) continue;
        await run('iptables', ['-w', '5', '-D', ...words.slice(1)], 15_000);
        removed++;
      }
    }
    return removed;
  }
}
