import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../shared/config/load-config.js';
import { parseAmqpUrls } from '../../../shared/amqp/broker-endpoints.js';
import { parseRedisUrl } from '../../../shared/redis-endpoints.js';
import { ROOT, composers, resolvedConfig } from './compose-config.js';

/*
 * docker-compose.cluster.yml over docker-compose.yml, resolved by both Compose versions: the file is valid, and what it
 * wires together is what a 3-node RabbitMQ cluster and a 3+3 Redis Cluster need (the live run on a Docker engine is
 * test/e2e/compose/live/compose-cluster-live.test.ts).
 */

const FILES = ['docker-compose.yml', 'docker-compose.cluster.yml'];
const ENV_DIR = mkdtempSync(join(tmpdir(), 'fanin-compose-cluster-'));
const EMPTY_ENV_FILE = join(ENV_DIR, 'empty.env');
writeFileSync(EMPTY_ENV_FILE, '');
const SECRETS = {
  RABBITMQ_USER: 'fanin',
  RABBITMQ_PASSWORD: 'test-secret',
  RABBITMQ_ERLANG_COOKIE: 'cookie0123456789abcdef',
  GRAFANA_ADMIN_PASSWORD: 'test-secret',
};
const RABBIT_NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
const REDIS_NODES = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
const FANIN_SERVICES = ['receiver-a', 'receiver-b', 'dedup-worker', 'uploader'];

type Volume = string | { source?: string; target: string };
interface Service {
  image?: string;
  hostname?: string;
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  volumes?: Volume[];
  ports?: unknown[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface Resolved {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
}

/** A mount's target and source, in either version's output (1.29 prints `source:target:mode` strings). */
const mount = (v: Volume) =>
  typeof v === 'string'
    ? { source: v.split(':')[0]!, target: v.split(':')[1]! }
    : { source: v.source ?? '', target: v.target };
const mountAt = (s: Service, target: string) => (s.volumes ?? []).map(mount).find((m) => m.target === target);
const conditionOf = (s: Service, dependency: string) => s.depends_on?.[dependency]?.condition;

describe('docker-compose.cluster.yml (over docker-compose.yml)', () => {
  after(() => rmSync(ENV_DIR, { recursive: true, force: true }));

  for (const [name, run] of composers(FILES, EMPTY_ENV_FILE)) {
    const v1 = name.includes('v1');

    it(`passes \`config -q\` with the required secrets, and refuses without each of them: ${name}`, () => {
      const ok = run(['config', '-q'], SECRETS);
      assert.equal(ok.status, 0, ok.stderr);
      for (const missing of Object.keys(SECRETS)) {
        const env = Object.fromEntries(Object.entries(SECRETS).filter(([k]) => k !== missing));
        const r = run(['config', '-q'], env);
        assert.notEqual(r.status, 0, `config without ${missing} must fail`);
        assert.match(r.stderr, new RegExp(missing));
      }
    });

    describe(`as resolved by ${name}`, () => {
      let cached: Resolved | null = null;
      const config = () => (cached ??= resolvedConfig<Resolved>(run, v1, SECRETS));

      it('runs three RabbitMQ nodes that find each other by the names in deploy/rabbitmq/cluster.conf, with one cookie', () => {
        const { services } = config();
        const conf = readFileSync(join(ROOT, 'deploy/rabbitmq/cluster.conf'), 'utf8');
        assert.match(conf, /^cluster_formation\.peer_discovery_backend = classic_config$/m);
        const listed = [...conf.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+ = (\S+)$/gm)].map((m) => m[1]);
        assert.deepEqual(
          listed,
          RABBIT_NODES.map((n) => `rabbit@${n}`),
          'node names: rabbit@<hostname>, hostname = service name (its DNS name)',
        );
        const dataVolumes = new Set<string>();
        for (const node of RABBIT_NODES) {
          const s = services[node]!;
          assert.ok(s, node);
          assert.equal(s.image, 'rabbitmq:3.13-management', node);
          assert.equal(s.hostname, node, `${node}: the hostname is the node name's host part`);
          assert.equal(
            s.environment?.RABBITMQ_ERLANG_COOKIE,
            SECRETS.RABBITMQ_ERLANG_COOKIE,
            `${node} shares the cookie`,
          );
          assert.equal(
            mountAt(s, '/etc/rabbitmq/conf.d/30-cluster.conf')?.source.endsWith('deploy/rabbitmq/cluster.conf'),
            true,
            `${node} mounts cluster.conf`,
          );
          assert.ok(mountAt(s, '/etc/rabbitmq/conf.d/20-fanin.conf'), `${node} mounts the fanin settings`);
          const data = mountAt(s, '/var/lib/rabbitmq')?.source ?? '';
          assert.ok(data && !dataVolumes.has(data), `${node} keeps its data on a volume of its own (${data})`);
          dataVolumes.add(data);
          assert.deepEqual(
            s.healthcheck?.test?.slice(-2),
            ['-q', 'check_running'],
            `${node}: healthy once running (joined), not only pingable`,
          );
          assert.equal(s.restart, 'unless-stopped', node);
          const aliases = (s.networks?.default as { aliases?: string[] } | null | undefined)?.aliases ?? [];
          assert.ok(
            aliases.includes('rabbitmq-nodes'),
            `${node} carries the alias Prometheus scrapes (${aliases.join(', ')})`,
          );
        }
        assert.match(
          readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'),
          /job_name: rabbitmq\n[^]*?names: \["rabbitmq-nodes"\]/,
          "Prometheus scrapes every node: a queue's metrics come only from its leader's node",
        );
        for (const node of RABBIT_NODES.slice(1))
          assert.equal(
            conditionOf(services[node]!, 'rabbitmq'),
            'service_healthy',
            `${node} starts once rabbitmq runs`,
          );
      });

      it('runs six Redis nodes in cluster mode on fixed addresses, and a one-shot job that creates the cluster with one replica per master', () => {
        const { services, networks } = config();
        const subnet = networks['redis-cluster']?.ipam?.config?.[0]?.subnet ?? '';
        assert.match(subnet, /^\d+\.\d+\.\d+\.0\/24$/);
        const prefix = subnet.slice(0, -'.0/24'.length);
        const addresses = REDIS_NODES.map((node) => {
          const s = services[node]!;
          assert.deepEqual(s.command, ['redis-server', '/usr/local/etc/redis/redis-cluster.conf'], node);
          assert.ok(mountAt(s, '/usr/local/etc/redis/redis-cluster.conf'), `${node} mounts redis-cluster.conf`);
          assert.ok(
            mountAt(s, '/usr/local/etc/redis/redis.conf'),
            `${node} mounts redis.conf, which redis-cluster.conf includes`,
          );
          assert.deepEqual(Object.keys(s.networks ?? {}), ['redis-cluster'], `${node}: only on the cluster's network`);
          assert.deepEqual(s.ports ?? [], [], `${node} is not published`);
          return s.networks?.['redis-cluster']?.ipv4_address ?? '';
        });
        assert.equal(new Set(addresses).size, 6, `distinct addresses: ${addresses.join(', ')}`);
        for (const a of addresses) assert.ok(a.startsWith(`${prefix}.`), `${a} in ${subnet}`);
        assert.equal(
          new Set(REDIS_NODES.map((n) => mountAt(services[n]!, '/data')?.source)).size,
          6,
          'one data volume per node',
        );
        const conf = readFileSync(join(ROOT, 'deploy/redis/redis-cluster.conf'), 'utf8');
        for (const line of [
          'include /usr/local/etc/redis/redis.conf',
          'cluster-enabled yes',
          'cluster-config-file nodes.conf',
        ])
          assert.ok(conf.includes(`\n${line}\n`), line);

        const init = services['redis-cluster-init']!;
        assert.equal(init.restart, 'no', 'a one-shot job');
        assert.deepEqual(
          init.environment?.REDIS_CLUSTER_NODES?.trim().split(/\s+/),
          addresses.map((a) => `${a}:6379`),
          'the job joins exactly the six nodes, masters first',
        );
        for (const node of REDIS_NODES)
          assert.equal(conditionOf(init, node), 'service_healthy', `the job waits for ${node}`);
        assert.match(
          readFileSync(join(ROOT, 'deploy/redis/redis-cluster-init.sh'), 'utf8'),
          /redis-cli --cluster create \$REDIS_CLUSTER_NODES --cluster-replicas 1 --cluster-yes/,
        );
        assert.ok(mountAt(init, '/usr/local/bin/redis-cluster-init.sh'), 'the job runs the script from deploy/redis');
      });

      it('gives every fanin process the three broker nodes and quorum queues of three, and starts it once the three run', () => {
        const { services } = config();
        for (const name of FANIN_SERVICES) {
          const s = services[name]!;
          const env = s.environment ?? {};
          const urls = parseAmqpUrls(env.FANIN_AMQP_URL ?? '').map((u) => new URL(u));
          assert.deepEqual(
            urls.map((u) => u.hostname),
            RABBIT_NODES,
            `${name}: one URL per node`,
          );
          for (const u of urls)
            assert.deepEqual(
              [u.username, u.password, u.port],
              [SECRETS.RABBITMQ_USER, SECRETS.RABBITMQ_PASSWORD, '5672'],
              name,
            );
          assert.equal(env.FANIN_QUORUM_INITIAL_GROUP_SIZE, '3', name);
          for (const node of RABBIT_NODES)
            assert.equal(conditionOf(s, node), 'service_healthy', `${name} waits for ${node}`);
          const config = loadConfig({ env });
          assert.equal(config.quorumInitialGroupSize, 3, `${name}: settings validate`);
        }
      });

      it('points the dedup workers at the Redis Cluster, reachable on its network, once the cluster is formed', () => {
        const { services } = config();
        const w = services['dedup-worker']!;
        const endpoints = parseRedisUrl(w.environment?.FANIN_REDIS_URL ?? '');
        assert.equal(endpoints.mode, 'cluster');
        if (endpoints.mode !== 'cluster') return;
        for (const seed of endpoints.nodes)
          assert.ok(REDIS_NODES.includes(seed.host) && seed.port === 6379, `seed ${seed.host}:${seed.port} is a node`);
        assert.deepEqual(
          Object.keys(w.networks ?? {}).sort(),
          ['default', 'redis-cluster'],
          'RabbitMQ on one network, Redis on the other',
        );
        assert.equal(conditionOf(w, 'redis-cluster-init'), 'service_completed_successfully');
        assert.doesNotThrow(
          () => loadConfig({ env: w.environment ?? {} }),
          "the worker's settings validate (partitions auto: 16 on a cluster)",
        );
      });
    });
  }
});
