import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the tests find Docker. The client is Debian's docker.io (`/usr/bin/docker`, the engine's own version) unless
 * FANIN_DOCKER names another; Compose v2 and buildx are CLI plugins in FANIN_DOCKER_CONFIG/cli-plugins, where
 * `.ci/docker.sh` installs them from Debian's trixie packages without adding trixie to apt's sources.
 */
export const DOCKER = process.env.FANIN_DOCKER ?? '/usr/bin/docker';
export const DOCKER_CONFIG = process.env.FANIN_DOCKER_CONFIG ?? '/var/cache/fanin-ci/docker-config';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Why no Docker engine can run here, or false when one answers. An installed engine that is not running is started
 * as .ci/docker.sh does (root only); only where that fails too is the live test skipped, with this reason.
 */
export function engineUnavailable(): string | false {
  const info = spawnSync(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (!info.error && info.status === 0) return false;
  if (info.error) return `no Docker client (${DOCKER}: ${info.error.message}); .ci/docker.sh installs docker.io`;
  if (!existsSync('/usr/sbin/dockerd'))
    return `no Docker engine installed (${info.stderr.trim()}); .ci/docker.sh installs docker.io`;
  if (process.getuid?.() !== 0)
    return `the Docker engine does not answer (${info.stderr.trim()}) and only root can start dockerd`;
  // A dockerd that runs but does not answer is a failure to report, not a reason to skip.
  if (spawnSync('pidof', ['dockerd']).status === 0) return false;
  const started = spawnSync(
    'sh',
    [
      '-c',
      'nohup /usr/sbin/dockerd >>/var/log/dockerd.log 2>&1 & ' +
        `for i in $(seq 1 60); do timeout 5 ${DOCKER} info >/dev/null 2>&1 && exit 0; sleep 1; done; tail -5 /var/log/dockerd.log; exit 1`,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  return started.status === 0 ? false : `dockerd cannot start here: ${started.stdout.trim()}`;
}

/** Compose v2 is installed where the tests look for it. */
export function composeV2Installed(): boolean {
  return existsSync(join(DOCKER_CONFIG, 'cli-plugins', 'docker-compose'));
}

export const COMPOSE_V2_MISSING =
  `Compose v2 is not in ${DOCKER_CONFIG}/cli-plugins (run .ci/docker.sh, or set FANIN_DOCKER_CONFIG to a ` +
  'directory whose cli-plugins/ holds docker-compose and docker-buildx)';

/**
 * Runs `docker <args>` with only the environment given (plus PATH, HOME and the plugin directory), so a shell's own
 * variables and .env files do not leak into what compose resolves. Throws when the client cannot be run at all.
 */
export function docker(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string } = {},
): CommandResult {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DOCKER_CONFIG,
    ...options.env,
  };
  const r: SpawnSyncReturns<string> = spawnSync(DOCKER, args, {
    cwd: options.cwd,
    env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    input: options.input,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${DOCKER} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like docker(), but a non-zero exit is an error carrying the command's output. */
export function dockerOk(args: readonly string[], options: Parameters<typeof docker>[1] = {}): string {
  const r = docker(args, options);
  if (r.status !== 0)
    throw new Error(`docker ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`.slice(0, 8000));
  return r.stdout;
}
