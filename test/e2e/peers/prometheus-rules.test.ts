import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PROM = `${ROOT}deploy/prometheus/`;

function promtool(args: string[]): string {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`cannot run promtool (apt-get install prometheus): ${r.error.message}`);
  assert.equal(r.status, 0, `promtool ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

const names = (file: string, kind: 'alert' | 'record') =>
  [...readFileSync(file, 'utf8').matchAll(new RegExp(`^\\s*- ${kind}:\\s*(\\S+)`, 'gm'))].map((m) => m[1]!);

describe('deploy/prometheus', () => {
  it('the config and its rule files pass promtool check', () => {
    promtool(['check', 'config', 'deploy/prometheus/prometheus.yml']);
  });

  it('every rule passes its promtool unit tests', () => {
    const tests = readdirSync(`${PROM}tests`)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `deploy/prometheus/tests/${f}`);
    assert.ok(tests.length >= 2);
    const out = promtool(['test', 'rules', ...tests]);
    assert.doesNotMatch(out, /FAILED/);
  });

  it('every alert and recording rule is exercised by a unit test', () => {
    const tests = readdirSync(`${PROM}tests`)
      .map((f) => readFileSync(`${PROM}tests/${f}`, 'utf8'))
      .join('\n');
    const untested = names(`${PROM}alerts.yml`, 'alert').filter((a) => !tests.includes(`alertname: ${a}\n`));
    assert.deepEqual(untested, [], 'alerts without a test case');
    const unrecorded = names(`${PROM}rules.yml`, 'record').filter((r) => !tests.includes(r));
    assert.deepEqual(unrecorded, [], 'recording rules without a test case');
  });
});

describe('deploy/grafana dashboard', () => {
  interface Panel {
    type: string;
    id: number;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    datasource?: { uid: string };
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(readFileSync(`${ROOT}deploy/grafana/dashboards/fanin-overview.json`, 'utf8')) as {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: { name: string }[] };
  };

  it('is "fanin overview" with unique ids, panels inside 24 columns, each on the provisioned data source', () => {
    assert.equal(dashboard.title, 'fanin overview');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const datasource = readFileSync(`${ROOT}deploy/grafana/provisioning/datasources/prometheus.yml`, 'utf8');
    for (const p of dashboard.panels) {
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits`);
      if (p.type === 'row') continue;
      assert.ok(p.targets && p.targets.length > 0, `${p.title} has a query`);
      assert.ok(
        p.datasource && datasource.includes(`uid: ${p.datasource.uid}`),
        `${p.title} uses the provisioned data source`,
      );
    }
  });

  it('covers what operators look at', () => {
    const exprs = dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join('\n');
    for (const needed of [
      'fanin_receiver_events_received_total',
      'fanin_worker_copies_total',
      'receiver:fanin_coverage:ratio_rate5m',
      'fanin_worker_late_copies_total',
      'up{job="fanin-dedup-worker"}',
      'rabbitmq_queue_messages_ready',
      'fanin_uploader_end_to_end_latency_seconds_bucket',
      'fanin_worker_redis_up',
      'fanin_worker_redis_script_seconds_bucket',
      'fanin_receiver_spool_bytes',
      'fanin_uploader_write_failures_total',
      'fanin_uploader_dead_lettered_batches_total',
    ])
      assert.ok(exprs.includes(needed), `a panel shows ${needed}`);
    assert.deepEqual(
      dashboard.templating.list.map((v) => v.name),
      ['namespace'],
    );
  });
});
