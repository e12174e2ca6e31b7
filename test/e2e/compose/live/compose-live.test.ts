import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComposeStack, removeStaleProjects, sleep, until, type Landed } from './compose-stack.js';
import { COMPOSE_V2_MISSING, DOCKER, composeV2Installed, docker, dockerOk, engineUnavailable } from './docker-cli.js';
import { streamToReceivers } from './fanout-stream.js';

/*
 * docker-compose.yml under a real Docker engine, the way users run it: Compose v2 builds the image with
 * deploy/Dockerfile and runs the stack; the upstream images are local stand-ins (test/compose-standins/build.sh)
 * because no registry is reachable. Grafana has no stand-in and stays out. Uses the published default ports
 * (5514, 5515, 9090, 15672): nothing else may hold them while it runs.
 */

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const RUN = randomBytes(3).toString('hex');
const SERVICES = ['rabbitmq', 'redis', 'receiver-a', 'receiver-b', 'dedup-worker', 'uploader', 'prometheus'];
const FANIN_SERVICES = new Set(['receiver-a', 'receiver-b', 'dedup-worker', 'uploader']);
const RECEIVERS = ['receiver-a', 'receiver-b'];
const TARGETS = [
  { host: '127.0.0.1', port: 5514 },
  { host: '127.0.0.1', port: 5515 },
];
const OUTAGE_MS = 30_000;

const unavailable = engineUnavailable();

describe('docker-compose.yml live on a Docker engine (Compose v2, stand-in images)', { skip: unavailable }, () => {
  const envDir = mkdtempSync(join(tmpdir(), 'fanin-compose-live-'));
  const envFile = join(envDir, 'empty.env');
  writeFileSync(envFile, '');
  const image = `fanin:live-${RUN}`;
  const stack = new ComposeStack(`fanin-live-${RUN}`, ROOT, envFile, {
    RABBITMQ_USER: 'fanin',
    RABBITMQ_PASSWORD: `live-${RUN}`,
    GRAFANA_ADMIN_PASSWORD: 'unused',
    FANIN_IMAGE: image,
  });
  const send = (token: string, count: number) => {
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'dist/cli/fanin.js'),
        'send',
        '--to',
        TARGETS.map((t) => `${t.host}:${t.port}`).join(','),
        '--framing',
        'octet',
        '--count',
        String(count),
        '--message',
        token,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, `fanin send: ${r.stderr}`);
  };
  const healthOf = (ids: string[]) =>
    stack.inspect(ids).map((s) => `${s.Name} ${s.State.Status}/${s.State.Health?.Status ?? 'no health check'}`);
  /** Nothing lost, nothing counted twice: every sequence number landed, under one id each. */
  const assertAllLandedOnce = (landed: Landed, count: number, what: string) => {
    assert.equal(landed.idsBySeq.size, count, `${what}: ${landed.idsBySeq.size}/${count} lines landed`);
    const split = [...landed.idsBySeq].filter(([, ids]) => ids.size !== 1);
    assert.deepEqual(split, [], `${what}: lines written under more than one id`);
    assert.equal(landed.ids.size, count, `${what}: distinct ids`);
  };

  before(
    () => {
      const info = docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
      assert.equal(info.status, 0, `the Docker engine does not answer: ${info.stderr}`);
      assert.ok(composeV2Installed(), COMPOSE_V2_MISSING);
      // Up to date stand-ins are kept (a few seconds); missing ones are built (minutes, the first time only).
      const built = spawnSync(join(ROOT, 'test/compose-standins/build.sh'), [], {
        encoding: 'utf8',
        timeout: 1_500_000,
        env: { ...process.env, DOCKER },
      });
      assert.equal(built.status, 0, `stand-in images: ${built.stderr}${built.stdout}`);
      assert.ok(existsSync(join(ROOT, 'dist/cli/fanin.js')), 'npm run build first');
      removeStaleProjects(
        'fanin-live-',
        (project) => new ComposeStack(project, ROOT, envFile, stack.environment),
        (run) => `fanin:live-${run}`,
      );
    },
    { timeout: 1_600_000 },
  );

  after(
    () => {
      const down = stack.tryRun(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
      docker(['image', 'rm', image]);
      rmSync(envDir, { recursive: true, force: true });
      assert.equal(down.status, 0, `compose down: ${down.stderr}`);
    },
    { timeout: 200_000 },
  );

  it(
    'builds the image with deploy/Dockerfile and starts from nothing with one build: every service healthy, hardened',
    { timeout: 660_000 },
    (t) => {
      assert.notEqual(docker(['image', 'inspect', image]).status, 0, 'the image does not exist before');
      const started = Date.now();
      stack.run(['up', '-d', '--build', '--wait', ...SERVICES], 600_000);
      const states = stack.inspect(stack.ids());
      assert.deepEqual(states.map((s) => s.Config.Labels['com.docker.compose.service']).sort(), [...SERVICES].sort());
      for (const s of states) assert.equal(s.State.Health?.Status, 'healthy', `${s.Name}: ${s.State.Status}`);
      const imageId = dockerOk(['image', 'inspect', '-f', '{{.Id}}', image]).trim();
      for (const s of states.filter((c) => FANIN_SERVICES.has(c.Config.Labels['com.docker.compose.service']!))) {
        assert.equal(s.Image, imageId, `${s.Name} runs the one built image`);
        assert.equal(s.HostConfig.ReadonlyRootfs, true, `${s.Name}: read-only root`);
        assert.deepEqual(s.HostConfig.CapDrop, ['ALL'], `${s.Name}: no capabilities`);
        assert.ok(s.HostConfig.SecurityOpt?.includes('no-new-privileges:true'), `${s.Name}: no-new-privileges`);
      }
      const runtimeFiles = dockerOk(['run', '--rm', '--entrypoint', 'ls', image, '/app/dist'])
        .split('\n')
        .filter(Boolean)
        .sort();
      assert.deepEqual(
        runtimeFiles,
        ['cli', 'dedup-worker', 'receiver', 'shared', 'uploader'],
        'the image carries the product only',
      );
      t.diagnostic(`stack up and healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  );

  it('fans the same lines out through both published ports and writes each once', { timeout: 120_000 }, async () => {
    const token = `fanout-${RUN}`;
    const count = 500;
    send(token, count);
    const landed = await stack.waitLanded(token, count, 60_000);
    assertAllLandedOnce(landed, count, 'fan-out');
    assert.equal(landed.lines, count, 'each line written once');
  });

  it(
    'scales to four workers without re-creating a running container, and Prometheus scrapes all four',
    { timeout: 480_000 },
    async () => {
      const before = stack.ids();
      const firstWorker = stack.ids('dedup-worker');
      stack.run(['up', '-d', '--scale', 'dedup-worker=4', '--wait', ...SERVICES], 300_000);
      const after = stack.ids();
      for (const id of before) assert.ok(after.includes(id), `container ${id.slice(0, 12)} was re-created`);
      assert.ok(firstWorker.every((id) => stack.ids('dedup-worker').includes(id)));
      assert.equal(stack.ids('dedup-worker').length, 4);
      const upWorkers = async () => {
        const res = await fetch('http://127.0.0.1:9090/api/v1/targets?state=active');
        const body = (await res.json()) as {
          data: { activeTargets: { labels: Record<string, string>; health: string }[] };
        };
        return body.data.activeTargets.filter((t) => t.labels.job === 'fanin-dedup-worker' && t.health === 'up').length;
      };
      const deadline = Date.now() + 120_000;
      let seen = await upWorkers();
      while (seen !== 4 && Date.now() < deadline) {
        await sleep(2000);
        seen = await upWorkers();
      }
      assert.equal(seen, 4, 'worker targets up in Prometheus');
    },
  );

  it(
    'loses nothing when the node process of a worker and of a receiver is SIGKILLed mid-stream',
    { timeout: 300_000 },
    async (t) => {
      const victims = [stack.ids('dedup-worker')[0]!, stack.one('receiver-a').Id];
      const restartsBefore = stack.inspect(victims).map((s) => s.RestartCount);
      const token = `sigkill-${RUN}`;
      const count = 3000;
      let streaming = true;
      const stream = streamToReceivers({ targets: TARGETS, count, rate: 250, runId: RUN, message: token }).finally(
        () => {
          streaming = false;
        },
      );
      await sleep(3000);
      for (const id of victims) {
        // As the container's own user: tini is PID 1, the fanin process its child.
        dockerOk(['exec', id, 'sh', '-c', 'kill -KILL $(cat /proc/1/task/1/children)']);
      }
      assert.ok(streaming, 'killed while the stream was flowing');
      const { broken } = await stream;
      t.diagnostic(`connections the kill broke: ${broken}`);
      const recovered = await until(
        () =>
          stack
            .inspect(victims)
            .every((s, i) => s.RestartCount > restartsBefore[i]! && s.State.Health?.Status === 'healthy'),
        90_000,
      );
      assert.ok(recovered, `restarted by Docker and healthy again: ${healthOf(victims).join(', ')}`);
      assertAllLandedOnce(await stack.waitLanded(token, count, 120_000), count, 'SIGKILL');
    },
  );

  it(
    'keeps receivers healthy and running through a 30 s RabbitMQ outage, spools, and everything lands',
    { timeout: 360_000 },
    async (t) => {
      const receivers = RECEIVERS.map((r) => stack.one(r));
      const spoolBytes = () =>
        Number(stack.run(['exec', '-T', 'receiver-a', 'du', '-sb', '/app/data/spool']).split(/\s/)[0]);
      const spoolBefore = spoolBytes();
      const token = `outage-${RUN}`;
      const count = 1000;
      const stoppedAt = Date.now();
      stack.run(['stop', 'rabbitmq']);
      send(token, count);
      const unhealthy: string[] = [];
      while (Date.now() - stoppedAt < OUTAGE_MS) {
        for (const s of stack.inspect(receivers.map((r) => r.Id))) {
          if (s.State.Health?.Status !== 'healthy' || !s.State.Running)
            unhealthy.push(`${s.Name} ${s.State.Status}/${s.State.Health?.Status}`);
        }
        await sleep(2000);
      }
      const spoolDuring = spoolBytes();
      stack.run(['start', 'rabbitmq']);
      assert.deepEqual(unhealthy, [], 'receivers stayed healthy while RabbitMQ was away');
      assert.ok(
        spoolDuring > spoolBefore,
        `the spool was written during the outage (${spoolBefore} -> ${spoolDuring} bytes)`,
      );
      const landed = await stack.waitLanded(token, count, 180_000);
      assertAllLandedOnce(landed, count, 'outage');
      for (const [i, s] of stack.inspect(receivers.map((r) => r.Id)).entries()) {
        assert.equal(s.RestartCount, receivers[i]!.RestartCount, `${s.Name} was not restarted`);
        assert.equal(s.State.StartedAt, receivers[i]!.State.StartedAt, `${s.Name} was not restarted`);
        assert.equal(s.State.Health?.Status, 'healthy', s.Name);
      }
      if (landed.lines > count)
        t.diagnostic(`outage: ${landed.lines - count} lines written again with the same id (at-least-once file sink)`);
    },
  );

  it('stops every process by draining inside its grace period, RabbitMQ included', { timeout: 240_000 }, (t) => {
    const ids = stack.ids();
    const started = Date.now();
    stack.run(['stop'], 180_000);
    t.diagnostic(`compose stop took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const s of stack.inspect(ids)) {
      assert.equal(s.State.Running, false, s.Name);
      assert.equal(
        s.State.ExitCode,
        0,
        `${s.Name} exited ${s.State.ExitCode} (137 = killed when its grace period ran out)`,
      );
      if (!FANIN_SERVICES.has(s.Config.Labels['com.docker.compose.service']!)) continue;
      const lines = stack.logs(s.Id).split('\n');
      const draining = lines.findLastIndex((l) => l.includes('"msg":"draining"'));
      assert.ok(
        draining >= 0 && lines.slice(draining).some((l) => l.includes('"msg":"drained')),
        `${s.Name} logged its drain; its last log lines:\n${lines.slice(-12).join('\n')}`,
      );
    }
  });
});
