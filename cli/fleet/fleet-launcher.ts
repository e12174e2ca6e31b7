import { MemberProcess, type MemberOptions } from './member-process.js';
import type { MemberRole, MemberSpec } from './member-command.js';

/**
 * A fleet as one unit: every member a supervised `fanin <role>` child process sharing the same launch options
 * (Node flags, output, restart policy). `fanin up`, the chaos suite and the bench launch their fleets through it;
 * what each adds (printing endpoints, faults, CPU sampling) stays with it.
 */
export class FleetLauncher {
  private readonly byName = new Map<string, MemberProcess>();

  constructor(specs: readonly MemberSpec[], options: MemberOptions = {}) {
    for (const spec of specs) {
      if (this.byName.has(spec.name)) throw new Error(`two fleet members named ${spec.name}`);
      this.byName.set(spec.name, new MemberProcess(spec, options));
    }
  }

  get members(): readonly MemberProcess[] {
    return [...this.byName.values()];
  }

  member(name: string): MemberProcess {
    const m = this.byName.get(name);
    if (!m) throw new Error(`no fleet member ${name}`);
    return m;
  }

  names(role?: MemberRole): string[] {
    return this.members.filter((m) => role === undefined || m.current.role === role).map((m) => m.name);
  }

  start(): void {
    for (const m of this.members) m.start();
  }

  /** Members whose process has exited and not been restarted. */
  down(): MemberProcess[] {
    return this.members.filter((m) => !m.running());
  }

  /**
   * Drains every member at once (each bounded by `graceMs`, then killed); resolves with the names of those that had
   * to be killed.
   */
  async stop(graceMs?: number): Promise<string[]> {
    const drained = await Promise.all(this.members.map((m) => m.stop(graceMs)));
    return this.members.filter((_, i) => !drained[i]).map((m) => m.name);
  }
}
