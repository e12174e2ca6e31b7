import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComposeStack, removeStaleProjects, sleep, until, type Landed } from './compose-stack.js';
import { COMPOSE_V2_MISSING, DOCKER, composeV2Installed, docker, dockerOk, engineUnavailable } from './docker-cli.js';
import { streamToReceivers } from './fanout-stream.js';

/*
 * docker-compose.cluster.yml over docker-compose.yml under a real Docker engine (Compose v2, the stand-in images of
 * test/compose-standins/build.sh): a 3-node RabbitMQ cluster and a 3+3 Redis Cluster under the fanin fleet. A
 * test-only third file moves the receivers' host ports to free loopback ports and publishes nothing else, so this runs
 * beside compose-live.test.ts (which holds 5514, 5515, 9090, 15672); Grafana stays out. The test reads RabbitMQ's
 * management API and Prometheus on their containers' addresses: a CLI tool per question would start an Erlang VM.
 */

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const RUN = randomBytes(3).toString('hex');
const PROJECT_PREFIX = 'fanin-cluster-live-';
const RABBIT_NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
const REDIS_NODES = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
const FANIN_SERVICES = ['receiver-a', 'receiver-b', 'dedup-worker', 'uploader'];
const SERVICES = [...FANIN_SERVICES, 'prometheus'];
const NAMESPACE = 'fanin';
const QUORUM_QUEUES = [`${NAMESPACE}.new`, `${NAMESPACE}.sink.file`, `${NAMESPACE}.dead`];
/** A /24 of its own per run, so a leftover network of a killed run cannot be in the way. */
const SUBNET_PREFIX = `172.29.${randomInt(100, 250)}`;

const unavailable = engineUnavailable();

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface QuorumQueue {
  name: string;
  type: string;
  leader: string;
  members: string[];
  online: string[];
}

interface RedisNodeLine {
  id: string;
  address: string;
  flags: string[];
  masterId: string;
  connected: boolean;
  slots: string;
}

/** `CLUSTER NODES`, one entry per node. */
function parseClusterNodes(text: string): RedisNodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , link, ...slots] = line.trim().split(' ');
      return {
        id: id!,
        address: address!.split('@')[0]!,
        flags: flags!.split(','),
        masterId: masterId!,
        connected: link === 'connected',
        slots: slots.join(' '),
      };
    });
}

describe(
  'docker-compose.cluster.yml live on a Docker engine (Compose v2, stand-in images)',
  { skip: unavailable },
  () => {
    const envDir = mkdtempSync(join(tmpdir(), 'fanin-compose-cluster-live-'));
    const envFile = join(envDir, 'empty.env');
    writeFileSync(envFile, '');
    const portsFile = join(envDir, 'ports.yml');
    const image = `fanin:cluster-live-${RUN}`;
    const environment = {
      RABBITMQ_USER: 'fanin',
      RABBITMQ_PASSWORD: `live-${RUN}`,
      RABBITMQ_ERLANG_COOKIE: `cookie-${RUN}-${randomBytes(12).toString('hex')}`,
      GRAFANA_ADMIN_PASSWORD: 'unused',
      FANIN_IMAGE: image,
      REDIS_CLUSTER_SUBNET_PREFIX: SUBNET_PREFIX,
    };
    const stack = new ComposeStack(`${PROJECT_PREFIX}${RUN}`, ROOT, envFile, environment, [
      'docker-compose.yml',
      'docker-compose.cluster.yml',
      portsFile,
    ]);
    let targets: { host: string; port: number }[] = [];

    /** A container's address on the project's default network (the host reaches it over the bridge). */
    const addressOf = (service: string) =>
      dockerOk([
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${stack.project}_default").IPAddress}}`,
        stack.ids(service)[0]!,
      ]).trim();
    const httpJson = async <T>(url: string, headers: Record<string, string> = {}): Promise<T> => {
      const r = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
      assert.ok(r.ok, `${url}: ${r.status}`);
      return (await r.json()) as T;
    };
    const managementApi = <T>(node: string, path: string) =>
      httpJson<T>(`http://${addressOf(node)}:15672/api/${path}`, {
        authorization: `Basic ${Buffer.from(`${environment.RABBITMQ_USER}:${environment.RABBITMQ_PASSWORD}`).toString('base64')}`,
      });
    const runningRabbitNodes = async (via: string) =>
      (await managementApi<{ name: string; running: boolean }[]>(via, 'nodes'))
        .filter((n) => n.running)
        .map((n) => n.name)
        .sort();
    const quorumQueues = async (via: string) =>
      (await managementApi<QuorumQueue[]>(via, 'queues/%2F?columns=name,type,leader,members,online')).filter(
        (q) => q.type === 'quorum',
      );
    const redisCli = (node: string, args: string[]) =>
      dockerOk(['exec', stack.ids(node)[0]!, 'redis-cli', ...args]).replace(/\r/g, '');
    const clusterInfo = (node: string) =>
      Object.fromEntries(
        redisCli(node, ['cluster', 'info'])
          .trim()
          .split('\n')
          .map((l) => l.split(':') as [string, string]),
      );
    const redisServiceAt = (address: string) => REDIS_NODES[Number(address.split(':')[0]!.split('.')[3]) - 11]!;
    const healthOf = (ids: string[]) =>
      stack.inspect(ids).map((s) => `${s.Name} ${s.State.Status}/${s.State.Health?.Status ?? 'no health check'}`);
    const allHealthy = (services: string[]) => {
      const ids = services.flatMap((s) => stack.ids(s));
      return (
        ids.length >= services.length &&
        stack.inspect(ids).every((s) => s.State.Running && s.State.Health?.Status === 'healthy')
      );
    };
    /** For a failure message: every container that is not running and healthy, with the tail of its log. */
    const unhealthyWithLogs = () =>
      stack
        .inspect(stack.ids(undefined, true))
        .filter(
          (s) => !(s.State.Running && s.State.Health?.Status === 'healthy') && !s.Name.includes('redis-cluster-init'),
        )
        .map(
          (s) =>
            `--- ${s.Name} ${s.State.Status}/${s.State.Health?.Status ?? '-'}\n${stack.logs(s.Id).trim().split('\n').slice(-25).join('\n')}`,
        )
        .join('\n');
    const assertAllLandedOnce = (landed: Landed, count: number, what: string) => {
      assert.equal(landed.idsBySeq.size, count, `${what}: ${landed.idsBySeq.size}/${count} lines landed`);
      assert.deepEqual(
        [...landed.idsBySeq].filter(([, ids]) => ids.size !== 1),
        [],
        `${what}: lines written under more than one id`,
      );
      assert.equal(landed.ids.size, count, `${what}: distinct ids`);
    };
    /** Every node of the RabbitMQ cluster runs, and every quorum queue has its three members online. */
    const rabbitClusterWhole = async (via: string) => {
      try {
        const nodes = RABBIT_NODES.map((n) => `rabbit@${n}`).sort();
        if ((await runningRabbitNodes(via)).join() !== nodes.join()) return false;
        const queues = (await quorumQueues(via)).filter((q) => QUORUM_QUEUES.includes(q.name));
        return (
          queues.length === QUORUM_QUEUES.length && queues.every((q) => q.members.length === 3 && q.online.length === 3)
        );
      } catch {
        return false;
      }
    };
    /** Three masters with slots, each with one connected replica, and the cluster serving every slot. */
    const redisClusterWhole = (via: string) => {
      try {
        if (clusterInfo(via).cluster_state !== 'ok') return false;
        const nodes = parseClusterNodes(redisCli(via, ['cluster', 'nodes']));
        const masters = nodes.filter(
          (n) => n.flags.includes('master') && n.slots !== '' && n.connected && !n.flags.includes('fail'),
        );
        const replicas = nodes.filter((n) => n.flags.includes('slave') && n.connected && !n.flags.includes('fail'));
        return (
          masters.length === 3 &&
          replicas.length === 3 &&
          masters.every((m) => replicas.filter((r) => r.masterId === m.id).length === 1)
        );
      } catch {
        return false;
      }
    };

    before(
      async () => {
        const info = docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
        assert.equal(info.status, 0, `the Docker engine does not answer: ${info.stderr}`);
        assert.ok(composeV2Installed(), COMPOSE_V2_MISSING);
        const built = spawnSync(join(ROOT, 'test/compose-standins/build.sh'), [], {
          encoding: 'utf8',
          timeout: 1_500_000,
          env: { ...process.env, DOCKER },
        });
        assert.equal(built.status, 0, `stand-in images: ${built.stderr}${built.stdout}`);
        assert.ok(existsSync(join(ROOT, 'dist/cli/fanin.js')), 'npm run build first');
        targets = [
          { host: '127.0.0.1', port: await freeLoopbackPort() },
          { host: '127.0.0.1', port: await freeLoopbackPort() },
        ];
        writeFileSync(
          portsFile,
          [
            'services:',
            ...targets.flatMap((t, i) => [
              `  receiver-${'ab'[i]}:`,
              '    ports: !override',
              `      - "127.0.0.1:${t.port}:5514/tcp"`,
            ]),
            '  rabbitmq:',
            '    ports: !reset []',
            '  prometheus:',
            '    ports: !reset []',
            '',
          ].join('\n'),
        );
        removeStaleProjects(
          PROJECT_PREFIX,
          (project) =>
            new ComposeStack(project, ROOT, envFile, environment, [
              'docker-compose.yml',
              'docker-compose.cluster.yml',
              portsFile,
            ]),
          (run) => `fanin:cluster-live-${run}`,
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
      'starts from nothing: one RabbitMQ cluster of three with quorum queues on all three, a 3+3 Redis Cluster, every service healthy',
      { timeout: 900_000 },
      async (t) => {
        const started = Date.now();
        // Not `--wait`: it gives up on the first failed health check, and on a loaded machine a check may time out once.
        const up = stack.tryRun(['up', '-d', '--build', ...SERVICES], 780_000);
        assert.equal(
          up.status,
          0,
          `compose up: ${up.stderr
            .split('\n')
            .filter((l) => !/ (Creat|Start|Wait|Health)/.test(l))
            .join('\n')}\n${unhealthyWithLogs()}`,
        );
        const services = [...RABBIT_NODES, ...REDIS_NODES, ...SERVICES];
        const healthy = await until(() => allHealthy(services), 240_000);
        assert.ok(healthy, `every service healthy: ${healthOf(stack.ids()).join(', ')}\n${unhealthyWithLogs()}`);
        t.diagnostic(`up, from nothing to every service healthy: ${((Date.now() - started) / 1000).toFixed(0)} s`);

        const init = stack.inspect(stack.ids('redis-cluster-init', true));
        assert.deepEqual(
          init.map((s) => [s.State.Status, s.State.ExitCode]),
          [['exited', 0]],
          'redis-cluster-init ran once and succeeded',
        );
        assert.deepEqual(
          await runningRabbitNodes('rabbitmq'),
          RABBIT_NODES.map((n) => `rabbit@${n}`).sort(),
          'one cluster of three nodes',
        );
        const queues = await quorumQueues('rabbitmq-2');
        for (const name of QUORUM_QUEUES) {
          const q = queues.find((x) => x.name === name);
          assert.ok(q, `${name} is a quorum queue`);
          assert.deepEqual(
            q.members.sort(),
            RABBIT_NODES.map((n) => `rabbit@${n}`).sort(),
            `${name} has a member on every node`,
          );
        }
        assert.ok(
          await until(() => redisClusterWhole('redis-4'), 60_000),
          `3 masters with one replica each, all slots served:\n${redisCli('redis-4', ['cluster', 'nodes'])}`,
        );
        assert.equal(clusterInfo('redis').cluster_known_nodes, '6');
        assert.ok(
          stack.logs(stack.ids('dedup-worker')[0]!).includes('"mode":"cluster","partitions":16'),
          'the worker runs in cluster mode on 16 partitions',
        );

        // A queue's metrics come only from the node leading it: Prometheus must scrape all three.
        const rabbitTargetsUp = async () =>
          (
            await httpJson<{ data: { activeTargets: { labels: Record<string, string>; health: string }[] } }>(
              `http://${addressOf('prometheus')}:9090/api/v1/targets`,
            )
          ).data.activeTargets.filter((x) => x.labels.job === 'rabbitmq' && x.health === 'up').length;
        const deadline = Date.now() + 120_000;
        let up3 = await rabbitTargetsUp();
        while (up3 !== 3 && Date.now() < deadline) {
          await sleep(2000);
          up3 = await rabbitTargetsUp();
        }
        assert.equal(up3, 3, 'RabbitMQ targets up in Prometheus');
      },
    );

    it('fans out the same lines through both receivers and writes each once', { timeout: 300_000 }, async () => {
      const token = `fanout-${RUN}`;
      const count = 500;
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, 'dist/cli/fanin.js'),
          'send',
          '--to',
          targets.map((x) => `${x.host}:${x.port}`).join(','),
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
      assertAllLandedOnce(await stack.waitLanded(token, count, 180_000), count, 'fan-out');
    });

    it(
      'loses nothing when the leader of the new-events queue and a Redis master are killed mid-stream; both rejoin when started again',
      { timeout: 600_000 },
      async (t) => {
        const leaderBefore = (await quorumQueues('rabbitmq')).find((q) => q.name === `${NAMESPACE}.new`)!.leader;
        const rabbitVictim = leaderBefore.replace(/^rabbit@/, '');
        const survivor = RABBIT_NODES.find((n) => n !== rabbitVictim)!;
        const nodes = parseClusterNodes(redisCli('redis', ['cluster', 'nodes']));
        const victimMaster = nodes.find(
          (n) => n.flags.includes('master') && !n.flags.includes('myself') && n.slots !== '',
        )!;
        const redisVictim = redisServiceAt(victimMaster.address);
        const promotedReplica = nodes.find((n) => n.masterId === victimMaster.id)!;
        const redisWitness = REDIS_NODES.find(
          (n) => n !== redisVictim && n !== redisServiceAt(promotedReplica.address),
        )!;
        const victims = [stack.ids(rabbitVictim)[0]!, stack.ids(redisVictim)[0]!];
        t.diagnostic(
          `killing ${rabbitVictim} (leader of ${NAMESPACE}.new) and ${redisVictim} (master ${victimMaster.address}, replica ${promotedReplica.address})`,
        );

        const token = `kill-${RUN}`;
        const count = 3000;
        let streaming = true;
        const stream = streamToReceivers({ targets, count, rate: 250, runId: RUN, message: token }).finally(() => {
          streaming = false;
        });
        await sleep(3000);
        const killedAt = Date.now();
        for (const id of victims) dockerOk(['kill', id]);
        assert.ok(streaming, 'killed while the stream was flowing');
        const { broken } = await stream;
        assert.equal(broken, 0, 'the receivers kept their connections');

        const landed = await stack.waitLanded(token, count, 240_000);
        t.diagnostic(
          `${landed.idsBySeq.size} of ${count} lines landed ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill (the stream took ${(count / 250).toFixed(0)} s)`,
        );
        if (landed.idsBySeq.size < count) {
          // What the fanin processes were doing when the pipeline stalled: the only way to tell a stuck worker from a
          // stuck broker once the stack is torn down.
          for (const service of ['dedup-worker', 'uploader', 'receiver-a', 'receiver-b']) {
            for (const id of stack.ids(service))
              t.diagnostic(
                `${service} ${id.slice(0, 12)}:\n${stack
                  .logs(id)
                  .split('\n')
                  .filter((l) => !l.includes('"level":20'))
                  .slice(-15)
                  .join('\n')}`,
              );
          }
        }
        assertAllLandedOnce(landed, count, 'kill');
        if (landed.lines > count)
          t.diagnostic(`${landed.lines - count} lines written again with the same id (at-least-once file sink)`);
        assert.deepEqual(
          stack.inspect(victims).map((s) => s.State.Running),
          [false, false],
          'the victims stayed down while the lines landed',
        );

        const leaderAfter = (await quorumQueues(survivor)).find((q) => q.name === `${NAMESPACE}.new`)!.leader;
        assert.notEqual(leaderAfter, leaderBefore, `${NAMESPACE}.new elected a new leader`);
        const promoted = parseClusterNodes(redisCli(redisWitness, ['cluster', 'nodes'])).find(
          (n) => n.id === promotedReplica.id,
        )!;
        assert.ok(
          promoted.flags.includes('master'),
          `the replica ${promotedReplica.address} took over: ${promoted.flags.join(',')}`,
        );

        for (const id of victims) dockerOk(['start', id]);
        const rejoinDeadline = Date.now() + 180_000;
        let whole = await rabbitClusterWhole(survivor);
        while (!whole && Date.now() < rejoinDeadline) {
          await sleep(2000);
          whole = await rabbitClusterWhole(survivor);
        }
        assert.ok(
          whole,
          `${rabbitVictim} rejoined, every quorum queue with three members online: ${(await runningRabbitNodes(survivor)).join(', ')}`,
        );
        assert.ok(
          await until(() => redisClusterWhole(redisWitness), 120_000),
          `${redisVictim} rejoined as a replica:\n${redisCli(redisWitness, ['cluster', 'nodes'])}`,
        );
        const rejoined = parseClusterNodes(redisCli(redisWitness, ['cluster', 'nodes'])).find(
          (n) => n.id === victimMaster.id,
        )!;
        assert.deepEqual(
          [rejoined.flags.includes('slave'), rejoined.masterId, rejoined.address],
          [true, promotedReplica.id, victimMaster.address],
          'the old master came back at its address as the replica of the one that took over',
        );
      },
    );
  },
);
