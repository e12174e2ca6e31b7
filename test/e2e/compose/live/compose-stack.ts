import { docker, dockerOk } from './docker-cli.js';

/** What the tests read of `docker inspect` for a container. */
export interface ContainerState {
  Id: string;
  Name: string;
  Image: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string };
  };
  Config: { Labels: Record<string, string> };
  HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] | null; SecurityOpt: string[] | null };
}

/** One line of the file sink, as far as the tests read it. */
interface SinkLine {
  id: string;
  message?: string;
}

/** What landed in the file sink for one sender run. */
export interface Landed {
  /** Lines written (a batch written again after a lost ack repeats its lines with the same ids). */
  lines: number;
  ids: Set<string>;
  /** The ids each sequence number was written under: one each when nothing is counted twice. */
  idsBySeq: Map<number, Set<string>>;
}

/**
 * One compose project (`-p`) of docker-compose.yml (and any overrides, in order) on a Docker engine, driven through
 * Compose v2 with a fixed environment and an empty env file, so the shell's variables and a developer's .env do not
 * change what runs.
 */
export class ComposeStack {
  constructor(
    readonly project: string,
    private readonly root: string,
    private readonly envFile: string,
    readonly environment: Record<string, string>,
    private readonly files: readonly string[] = ['docker-compose.yml'],
  ) {}

  /** `docker compose <args>`; throws with compose's output when it fails. */
  run(args: readonly string[], timeoutMs = 120_000): string {
    return dockerOk(this.composeArgs(args), { cwd: this.root, env: this.environment, timeoutMs });
  }

  /** `docker compose <args>`, its failure returned rather than thrown (teardown). */
  tryRun(args: readonly string[], timeoutMs = 120_000): { status: number | null; stderr: string } {
    return docker(this.composeArgs(args), { cwd: this.root, env: this.environment, timeoutMs });
  }

  /** Container ids of a service (running ones, or with `all` also stopped ones), sorted. */
  ids(service?: string, all = false): string[] {
    const out = this.run(['ps', ...(all ? ['-a'] : []), '-q', ...(service ? [service] : [])]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
  }

  inspect(ids: readonly string[]): ContainerState[] {
    if (ids.length === 0) return [];
    return JSON.parse(dockerOk(['inspect', ...ids])) as ContainerState[];
  }

  /** The single container of a service that runs one. */
  one(service: string): ContainerState {
    const ids = this.ids(service);
    if (ids.length !== 1) throw new Error(`${service}: ${ids.length} containers, expected one`);
    return this.inspect(ids)[0]!;
  }

  logs(id: string): string {
    const r = docker(['logs', id], { timeoutMs: 60_000 });
    return r.stdout + r.stderr;
  }

  /** Reads every line of the uploader's file sink whose message carries `token`. */
  landed(token: string): Landed {
    const out = this.run(
      ['exec', '-T', 'uploader', 'sh', '-c', 'cat /app/data/out/*.ndjson 2>/dev/null || true'],
      60_000,
    );
    const landed: Landed = { lines: 0, ids: new Set(), idsBySeq: new Map() };
    for (const text of out.split('\n')) {
      if (!text.includes(token)) continue;
      const line = JSON.parse(text) as SinkLine;
      const seq = Number(/ seq=(\d+) /.exec(line.message ?? '')?.[1]);
      if (!Number.isInteger(seq)) continue;
      landed.lines++;
      landed.ids.add(line.id);
      let ids = landed.idsBySeq.get(seq);
      if (!ids) landed.idsBySeq.set(seq, (ids = new Set()));
      ids.add(line.id);
    }
    return landed;
  }

  /** Polls until `count` sequence numbers of `token` landed (or the time is up), then once more after a pause. */
  async waitLanded(token: string, count: number, timeoutMs: number): Promise<Landed> {
    const deadline = Date.now() + timeoutMs;
    while (this.landed(token).idsBySeq.size < count && Date.now() < deadline) await sleep(1000);
    // Whatever would be written twice is written by now: the sink writes a batch within milliseconds.
    await sleep(3000);
    return this.landed(token);
  }

  private composeArgs(args: readonly string[]): string[] {
    return [
      'compose',
      '-p',
      this.project,
      '--env-file',
      this.envFile,
      ...this.files.flatMap((f) => ['-f', f]),
      ...args,
    ];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every second until it returns true or the time is up; returns its last answer. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(1000);
  }
}

/**
 * A run killed before its teardown leaves its containers (holding the published ports), network and image behind:
 * brings down every project whose name starts with `prefix` and removes its image.
 */
export function removeStaleProjects(
  prefix: string,
  stackFor: (project: string) => ComposeStack,
  imageFor: (runId: string) => string,
): void {
  const stale = new Set(
    dockerOk([
      'ps',
      '-a',
      '--filter',
      'label=com.docker.compose.project',
      '--format',
      '{{.Label "com.docker.compose.project"}}',
    ])
      .split('\n')
      .filter((p) => p.startsWith(prefix)),
  );
  for (const project of stale) {
    stackFor(project).run(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
    docker(['image', 'rm', imageFor(project.slice(prefix.length))]);
  }
}
