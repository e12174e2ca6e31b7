import { fileURLToPath } from 'node:url';

/** The three processes of a fleet; each is `fanin <role>`. */
export type MemberRole = 'receiver' | 'worker' | 'uploader';

/** One member as data: its name in the fleet, what it runs and the FANIN_* settings that make it that member. */
export interface MemberSpec {
  readonly name: string;
  readonly role: MemberRole;
  readonly env: Readonly<Record<string, string>>;
}

const CLI = fileURLToPath(new URL('../fanin.js', import.meta.url));

/**
 * A member's Node flags: ours, plus a larger young generation (`--max-semi-space-size` below) unless one is given
 * (here or in NODE_OPTIONS). fanin allocates short-lived objects per event, and a larger young generation spares the scavenger
 * (bench/README.md has the effect). The image sets the same flag through NODE_OPTIONS.
 */
export function nodeFlags(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some(
    (f) => f.startsWith('--max-semi-space-size') || f.startsWith('--semi-space'),
  );
  return given ? [...execArgv] : [...execArgv, '--max-semi-space-size=32'];
}

/** The arguments after the Node binary: Node's flags, the fanin CLI, the role. */
export function memberArgs(role: MemberRole, nodeArgs: readonly string[] = []): string[] {
  return [...nodeArgs, CLI, role];
}

/**
 * The member's environment: `base` (the launcher's own, by default) with the member's settings over it. Without
 * `inheritSettings`, FANIN_* variables of `base` are left out, so that only the spec decides what the member is.
 */
export function memberEnv(
  spec: MemberSpec,
  base: NodeJS.ProcessEnv = process.env,
  inheritSettings = true,
): NodeJS.ProcessEnv {
  const kept = inheritSettings
    ? base
    : Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith('FANIN_')));
  return { ...kept, ...spec.env };
}
