import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMPOSE_V2_MISSING, composeV2Installed, docker, type CommandResult } from './live/docker-cli.js';

/** The repository root, where the compose files are. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** `compose <args>` on a fixed set of files, with only the variables given. */
export type ComposeRun = (args: string[], extraEnv: Record<string, string>) => CommandResult;

const fileArgs = (files: readonly string[]) => files.flatMap((f) => ['-f', f]);

/**
 * Debian's docker-compose (1.29) validates and resolves files without a Docker engine. The shell's own variables and
 * any .env file are kept out (`envFile` is an empty file), so only what the test gives counts.
 */
export function composeV1(files: readonly string[], envFile: string): ComposeRun {
  return (args, extraEnv) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...extraEnv,
    };
    const r = spawnSync('docker-compose', ['--env-file', envFile, ...fileArgs(files), ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error)
      throw new Error(`cannot run Debian's docker-compose (apt-get install docker-compose): ${r.error.message}`);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** Compose v2, the one users run (`docker compose`): stricter YAML than 1.29, e.g. one `<<` key per mapping. */
export function composeV2(files: readonly string[], envFile: string): ComposeRun {
  return (args, extraEnv) => {
    assert.ok(composeV2Installed(), COMPOSE_V2_MISSING);
    return docker(['compose', '--env-file', envFile, ...fileArgs(files), ...args], { cwd: ROOT, env: extraEnv });
  };
}

/** Both Compose versions on the same files, named for test titles. */
export function composers(files: readonly string[], envFile: string): [string, ComposeRun][] {
  return [
    ['Compose v2 (docker compose)', composeV2(files, envFile)],
    ['Compose v1 (docker-compose 1.29)', composeV1(files, envFile)],
  ];
}

/**
 * What `config` resolves, as JSON: Compose v2 prints it so itself; 1.29 prints YAML, read with python3-yaml (which
 * comes with Debian's docker-compose).
 */
export function resolvedConfig<T>(run: ComposeRun, v1: boolean, env: Record<string, string>): T {
  const out = run(v1 ? ['config'] : ['config', '--format', 'json'], env);
  assert.equal(out.status, 0, out.stderr);
  if (!v1) return JSON.parse(out.stdout) as T;
  const r = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: out.stdout,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}
