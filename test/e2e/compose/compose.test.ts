import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localFleet } from '../../../cli/fleet/local-layout.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { settings } from '../../../shared/config/settings.js';
import { ROOT, composeV1, composeV2 as composeV2On, composers, resolvedConfig } from './compose-config.js';
const ENV_DIR = mkdtempSync(join(tmpdir(), 'fanin-compose-'));
const EMPTY_ENV_FILE = join(ENV_DIR, 'empty.env');
writeFileSync(EMPTY_ENV_FILE, '');
const SECRETS = { RABBITMQ_USER: 'fanin', RABBITMQ_PASSWORD: 'test-secret', GRAFANA_ADMIN_PASSWORD: 'test-secret' };

interface Port {
  target: number;
  published: number | string;
  protocol: string;
}
interface Service {
  image?: string;
  container_name?: string;
  ports?: Port[];
  environment?: Record<string, string>;
  volumes?: (string | { target: string })[];
  healthcheck?: { test?: string[] };
  restart?: string;
  profiles?: string[];
  build?: { context: string; dockerfile: string };
  pull_policy?: string;
}
const FILES = ['docker-compose.yml'];
const compose = composeV1(FILES, EMPTY_ENV_FILE);
const composeV2 = composeV2On(FILES, EMPTY_ENV_FILE);
const COMPOSERS = composers(FILES, EMPTY_ENV_FILE);

/** The resolved file as JSON (python3-yaml comes with Debian's docker-compose). */
function resolved(): { services: Record<string, Service> } {
  return resolvedConfig(compose, true, SECRETS);
}

const FANIN_SERVICES = ['receiver-a', 'receiver-b', 'dedup-worker', 'uploader'];

describe('docker-compose.yml', () => {
  for (const [name, run] of COMPOSERS) {
    it(`passes \`config -q\` with the required secrets: ${name}`, () => {
      const r = run(['config', '-q'], SECRETS);
      assert.equal(r.status, 0, r.stderr);
    });

    it(`refuses to resolve without each secret, no default passwords: ${name}`, () => {
      for (const missing of Object.keys(SECRETS)) {
        const env = Object.fromEntries(Object.entries(SECRETS).filter(([k]) => k !== missing));
        const r = run(['config', '-q'], env);
        assert.notEqual(r.status, 0, `config without ${missing} must fail`);
        assert.match(r.stderr, new RegExp(missing));
      }
    });
  }

  it('builds the fanin image in one service; the others run that image and never pull it (Compose v2)', () => {
    const services = resolvedConfig<{ services: Record<string, Service> }>(composeV2, false, SECRETS).services;
    const building = Object.entries(services)
      .filter(([, s]) => s.build)
      .map(([n]) => n);
    assert.equal(building.length, 1, `exactly one service builds (${building.join(', ')})`);
    const built = services[building[0]!]!;
    assert.equal(built.build?.dockerfile, 'deploy/Dockerfile');
    for (const name of FANIN_SERVICES) {
      const s = services[name]!;
      assert.equal(s.image, built.image, `${name} runs the built image`);
      if (name !== building[0]) assert.equal(s.pull_policy, 'never', `${name} never pulls the local image`);
    }
  });

  it('checks liveness (/healthz), not readiness, in compose and in the image', () => {
    const services = servicesOf();
    for (const name of FANIN_SERVICES) {
      const test = (services[name]?.healthcheck?.test ?? []).join(' ');
      assert.match(test, /\/healthz'/, `${name}: ${test}`);
      assert.doesNotMatch(test, /readyz/, name);
    }
    const healthcheck = readFileSync(`${ROOT}deploy/Dockerfile`, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    assert.match(healthcheck, /HEALTHCHECK[^]*\/healthz'/);
    assert.doesNotMatch(healthcheck, /readyz/);
  });

  after(() => rmSync(ENV_DIR, { recursive: true, force: true }));
  let cached: Record<string, Service> | null = null;
  const servicesOf = () => (cached ??= resolved().services);

  it('lets dedup-worker scale: no container_name, no published ports', () => {
    const w = servicesOf()['dedup-worker']!;
    assert.equal(w.container_name, undefined);
    assert.deepEqual(w.ports ?? [], []);
  });

  it("publishes every receiver input on the local fleet's ports (docs/design.md §5), distinct per receiver, and no metrics port", () => {
    const services = servicesOf();
    const fleet = localFleet(0, '127.0.0.1', { certFile: 'c', keyFile: 'k' });
    const published = new Set<string>();
    for (const [service, member] of [
      ['receiver-a', fleet[0]!],
      ['receiver-b', fleet[1]!],
    ] as const) {
      const s = services[service]!;
      const env = s.environment ?? {};
      const mapping = (s.ports ?? []).map((p) => `${p.published}->${p.target}/${p.protocol}`).sort();
      const host = (name: string) => member.env[name];
      const inside = (name: string) => env[name];
      const expected = [
        `${host('FANIN_RECEIVER_SYSLOG_PORT')}->${inside('FANIN_RECEIVER_SYSLOG_PORT')}/udp`,
        `${host('FANIN_RECEIVER_SYSLOG_PORT')}->${inside('FANIN_RECEIVER_SYSLOG_PORT')}/tcp`,
        `${host('FANIN_RECEIVER_SYSLOG_TLS_PORT')}->${inside('FANIN_RECEIVER_SYSLOG_TLS_PORT')}/tcp`,
        `${host('FANIN_RECEIVER_FORWARD_PORT')}->${inside('FANIN_RECEIVER_FORWARD_PORT')}/tcp`,
        `${host('FANIN_RECEIVER_FORWARD_PORT')}->${inside('FANIN_RECEIVER_FORWARD_PORT')}/udp`,
        `${host('FANIN_RECEIVER_HTTP_PORT')}->${inside('FANIN_RECEIVER_HTTP_PORT')}/tcp`,
      ].sort();
      assert.deepEqual(mapping, expected, service);
      for (const p of s.ports ?? []) {
        const key = `${p.published}/${p.protocol}`;
        assert.ok(!published.has(key), `host port ${key} published twice`);
        published.add(key);
      }
      assert.equal(env.FANIN_RECEIVER_ID, member.env.FANIN_RECEIVER_ID);
      assert.ok(
        (s.volumes ?? []).some((v) => (typeof v === 'string' ? v : v.target).includes('/app/data/spool')),
        `${service} keeps its spool on a volume`,
      );
    }
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? [])
        assert.notEqual(Number(p.target), 9601, `${name} must not publish its metrics port`);
    }
  });

  it('gives every fanin service only known FANIN_* settings that validate', () => {
    const services = servicesOf();
    const known = new Set(Object.values(settings).map((s) => s.env));
    for (const name of FANIN_SERVICES) {
      const env = services[name]?.environment ?? {};
      const unknown = Object.keys(env).filter((k) => k.startsWith('FANIN_') && !known.has(k));
      assert.deepEqual(unknown, [], `${name}: unknown settings`);
      assert.doesNotThrow(() => loadConfig({ env }), `${name}: settings validate`);
    }
  });

  it('offers PostgreSQL for the postgres sink behind its own profile, wired to the uploader', () => {
    const services = servicesOf();
    const pg = services.postgres;
    assert.ok(pg, 'a postgres service');
    assert.deepEqual(pg.profiles, ['postgres'], 'it starts only with --profile postgres');
    assert.deepEqual(pg.ports ?? [], [], 'not published');
    const uploaderEnv = services.uploader?.environment ?? {};
    const url = new URL(uploaderEnv.FANIN_UPLOADER_POSTGRES_SINK_URL ?? '');
    assert.equal(url.hostname, 'postgres');
    assert.equal(url.pathname.slice(1), pg.environment?.POSTGRES_DB);
    assert.equal(url.username, pg.environment?.POSTGRES_USER);
    assert.equal(url.password, '', 'no password in the URL: it comes from PGPASSWORD');
    const withPostgres = compose(['--profile', 'postgres', 'config', '-q'], {
      ...SECRETS,
      POSTGRES_PASSWORD: 'test-secret',
      FANIN_SINKS: 'file,postgres',
    });
    assert.equal(withPostgres.status, 0, withPostgres.stderr);
    assert.doesNotThrow(
      () => loadConfig({ env: { ...uploaderEnv, FANIN_SINKS: 'file,postgres' } }),
      'the uploader validates with both sinks',
    );
  });

  it("has health checks and restart policies, and RabbitMQ's Prometheus plugin enabled", () => {
    const services = servicesOf();
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.healthcheck, `${name} has a health check`);
      assert.equal(s.restart, 'unless-stopped', `${name} restarts`);
    }
    assert.match(readFileSync(`${ROOT}deploy/rabbitmq/enabled_plugins`, 'utf8'), /rabbitmq_prometheus/);
  });
});
