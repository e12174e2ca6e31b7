import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localFleet } from '../../../cli/fleet/local-layout.js';
import { settings } from '../../../shared/config/settings.js';

/**
 * The operator's pages must name only what exists: every fanin metric, setting, environment variable and alert a
 * page mentions is looked up in the code, so a rename breaks this test instead of leaving a page that sends people
 * looking for a metric nobody exports. The README stays the short first page, and its `npm start` banner stays the
 * one `fanin up` prints.
 */
const ROOT = new URL('../../../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const PAGES = [
  'README.md',
  'bench/README.md',
  'chaos/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
/** Variables that are not settings: the config file's path, and the tests' broker, Redis and PostgreSQL. */
const OTHER_VARIABLES = new Set([
  'FANIN_CONFIG',
  'FANIN_TEST_AMQP_URL',
  'FANIN_TEST_REDIS_URL',
  'FANIN_TEST_POSTGRES_URL',
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Every metric the processes register: the `name:` of each prom-client metric in the roles' sources. */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of ['receiver', 'dedup-worker', 'uploader', 'shared'].flatMap(sourceFiles)) {
    for (const m of read(file).matchAll(/name: '(fanin_[a-z_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

function mentions(pattern: RegExp): { page: string; name: string }[] {
  return PAGES.flatMap((page) => [...read(page).matchAll(pattern)].map((m) => ({ page, name: m[1]! })));
}

describe('the operator docs name what exists', () => {
  it('every fanin_receiver_/fanin_worker_/fanin_uploader_ metric they mention is registered by a process', () => {
    const known = registeredMetrics();
    assert.ok(known.size > 50, `found the metric definitions (${known.size})`);
    const unknown = mentions(/\b(fanin_(?:receiver|worker|uploader)_[a-z_]+)\b/g)
      // A recording rule's name embeds a metric's stem (instance_id:fanin_receiver_events_received:rate5m).
      .filter(({ name }) => !known.has(name) && ![...known].some((k) => k.startsWith(`${name}_`)));
    assert.deepEqual(unknown, []);
  });

  it('every setting key and FANIN_ variable they mention is in the settings table', () => {
    const keys = Object.values(settings).map((s) => s.key);
    const envs = new Set(Object.values(settings).map((s) => s.env));
    // A key, or a block of keys such as `uploader.fileSink`.
    const unknownKeys = mentions(/`((?:receiver|worker|uploader)\.[A-Za-z.]+?)\.?(?:\*)?(?:=[^`]*)?`/g)
      // A file name such as `worker.json` is not a key.
      .filter(({ name }) => !name.endsWith('.json'))
      .filter(({ name }) => !keys.some((k) => k === name || k.startsWith(`${name}.`)));
    assert.deepEqual(unknownKeys, []);
    const unknownVariables = mentions(/\b(FANIN_[A-Z0-9_]*[A-Z0-9])\b/g).filter(
      ({ name }) => !envs.has(name) && !OTHER_VARIABLES.has(name),
    );
    assert.deepEqual(unknownVariables, []);
  });

  it('every Fanin… alert they mention is defined in deploy/prometheus/alerts.yml', () => {
    const alerts = new Set([...read('deploy/prometheus/alerts.yml').matchAll(/alert: (Fanin\w+)/g)].map((m) => m[1]!));
    assert.deepEqual(
      mentions(/`(Fanin\w+)`/g).filter(({ name }) => !alerts.has(name)),
      [],
    );
  });
});

describe('README.md', () => {
  const readme = read('README.md');

  it('stays the short first page (at most 300 lines)', () => {
    assert.ok(readme.split('\n').length <= 300, `README.md has ${readme.split('\n').length} lines`);
  });

  it('says in its failure table that a RabbitMQ restart can make the file sink write lines again, with the same ids', () => {
    // The file sink appends: a batch written just before its ack was lost is written again on redelivery, as
    // docs/sinks.md says. A table that promised "nothing twice" there would send operators chasing a bug.
    const row = readme.split('\n').find((l) => l.startsWith('| RabbitMQ restarts'));
    assert.ok(row, 'the failure table has a RabbitMQ restart row');
    assert.match(row, /file sink may write .* again/);
    assert.match(row, /same ids/);
  });

  it('shows the banner lines `npm start` prints for the local fleet', () => {
    const tls = { certFile: 'data/tls/fleet-cert.pem', keyFile: 'data/tls/fleet-key.pem' };
    for (const m of localFleet(0, '127.0.0.1', tls, 2)) {
      const line = `  ${m.name.padEnd(16)} ${m.endpoints.join('   ')}`;
      assert.ok(readme.includes(`\n${line}\n`), `README.md shows the banner line of ${m.name}:\n${line}`);
    }
    assert.match(readme, /\n {2}events go to {3}\/path\/to\/fanin\/data\/out\/events\.YYYY-MM-DD-HH\.ndjson\n/);
  });
});
