import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fanOutSend } from '../../../cli/send.js';
import { LocalFleetProcess } from '../../support/local-fleet-process.js';
import { PrometheusServer, type QueryResult } from '../../support/prometheus-server.js';
import { conditionSignals } from '../../support/promql-signals.js';
import { ensureRabbitmqPrometheus, RABBITMQ_METRICS_TARGET } from '../../support/rabbitmq-prometheus.js';
import { waitFor } from '../../../testkit/services.js';

const repoFile = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
const RULES = repoFile('deploy/prometheus/rules.yml');
const ALERTS = repoFile('deploy/prometheus/alerts.yml');
const DASHBOARD = repoFile('deploy/grafana/dashboards/fanin-overview.json');

interface Panel {
  type: string;
  title: string;
  id: number;
  gridPos: { x: number; w: number };
  datasource?: { uid: string };
  targets?: { expr: string; refId: string }[];
}

function dashboardPanels(): Panel[] {
  return (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels;
}

/** Rule names as the files declare them (no YAML parser: one rule per `- alert:` / `- record:` line). */
function declaredRules(file: string, kind: 'alert' | 'record'): string[] {
  return [...readFileSync(file, 'utf8').matchAll(new RegExp(`^\\s*- ${kind}:\\s*(\\S+)`, 'gm'))].map((m) => m[1]!);
}

const seriesCount = (r: QueryResult) => r.data?.result.length ?? 0;
const firstValue = (r: QueryResult) => Number(r.data?.result[0]?.value[1] ?? NaN);

describe('PromQL condition signals', () => {
  it('splits conditions into what they compare', () => {
    assert.deepEqual(conditionSignals('up{job=~"fanin-.*"} == 0'), ['up{job=~"fanin-.*"}']);
    assert.deepEqual(conditionSignals('(count(up{job="w"} == 1) or vector(0)) == 0'), [
      'count(up{job="w"} == 1) or vector(0)',
    ]);
    assert.deepEqual(conditionSignals('sum by (i) (rate(a[10m])) == 0 and on () sum(rate(a[10m])) > 0'), [
      'sum by (i) (rate(a[10m]))',
      'sum(rate(a[10m]))',
    ]);
    assert.deepEqual(conditionSignals('max by (i) (x) > on () group_left () 0.5 * max(w)'), [
      'max by (i) (x)',
      '0.5 * max(w)',
    ]);
    assert.deepEqual(conditionSignals('a > 0 or b > bool 1'), ['a', 'b']);
    assert.deepEqual(conditionSignals('a > 0 unless on (i) b'), ['a']);
    assert.deepEqual(conditionSignals('x{queue=~".+[.](new|sink[.].+)"} > 1000'), ['x{queue=~".+[.](new|sink[.].+)"}']);
    assert.deepEqual(conditionSignals('sum(rate(a[5m])) + sum(rate(b[5m])) >= 2e3'), [
      'sum(rate(a[5m])) + sum(rate(b[5m]))',
    ]);
    assert.deepEqual(conditionSignals('histogram_quantile(0.99, sum by (le) (rate(h[5m])))'), [
      'histogram_quantile(0.99, sum by (le) (rate(h[5m])))',
    ]);
    assert.deepEqual(conditionSignals('a / (b > 0) > 0.5'), ['a / (b > 0)']);
  });
});

/**
 * Debian's Prometheus scrapes the real fleet (`fanin up`) and RabbitMQ's plugin every second and evaluates the
 * recording and alert rules of deploy/prometheus every second. After some fan-out traffic, every dashboard query and
 * every rule must evaluate, and return series (for alerts: what the condition compares, since on a healthy fleet
 * the condition itself is rightly empty).
 */
describe('observability: dashboard queries and rules on a live fleet', { timeout: 180_000 }, () => {
  const fleet = new LocalFleetProcess();
  let prom: PrometheusServer | null = null;

  before(async () => {
    await ensureRabbitmqPrometheus();
    await fleet.start();
    const at = (...bases: number[]) => bases.map((b) => `127.0.0.1:${fleet.port(b)}`);
    prom = new PrometheusServer(
      [
        { job: 'fanin-receiver', targets: at(9601, 9602) },
        { job: 'fanin-dedup-worker', targets: at(9611, 9612) },
        { job: 'fanin-uploader', targets: at(9621) },
        { job: 'rabbitmq', targets: [RABBITMQ_METRICS_TARGET], metricsPath: '/metrics/per-object' },
      ],
      [RULES, ALERTS],
    );
    await prom.start();
  });
  after(async () => {
    await prom?.stop();
    await fleet.cleanup();
  });

  const run = async (expr: string) => prom!.query(expr);

  it('every panel query, recording rule and alert expression evaluates and returns series', async () => {
    const targets = [
      { host: '127.0.0.1', port: fleet.port(5514) },
      { host: '127.0.0.1', port: fleet.port(5515) },
    ];
    const runId = randomBytes(3).toString('hex');
    // A worker creates a receiver's copy series at its first batch from that receiver, and rate() cannot count a
    // series' first scrape. Warm up until both workers have counted both receivers and Prometheus has scraped that,
    // so the measured traffic below is counted whole (docs/metrics.md, coverage per receiver).
    let warmup = 0;
    await waitFor(
      'both workers to know both receivers',
      async () => {
        if (seriesCount(await run('fanin_worker_copies_total{result="unique"}')) >= 4) return true;
        await fanOutSend({
          targets,
          framing: 'octet',
          count: 40,
          rate: 200,
          message: 'warm-up',
          runId: `${runId}-w${warmup++}`,
        });
        return undefined;
      },
      40_000,
      1500,
    );
    const seriesScrapedAt = Date.now();
    const before = firstValue(await run('sum(fanin_worker_copies_total{result="unique"})'));
    await fanOutSend({ targets, framing: 'octet', count: 600, rate: 2000, message: 'observability', runId });
    await fanOutSend({ targets, framing: 'udp', count: 200, rate: 2000, message: 'observability udp', runId });
    const copies = 2 * 800;
    // The fleet is new, so its counters hold exactly the warm-up's lines (each round its own run id, so all unique)
    // and the measured ones. Waiting for totals that include the warm-up's own count makes sure no measured copy is
    // still in flight when the ratios are read (a wait on the measured count alone once ended early: coverage 0.72).
    const warmupLines = warmup * 40;

    // Prometheus has scraped every copy decided and every event written, evaluated the coverage rule, and sees the
    // namespace's queues.
    await waitFor(
      'Prometheus to see the traffic',
      async () => {
        const decided = firstValue(await run('sum(fanin_worker_copies_total{result=~"unique|repeat|duplicate"})'));
        const coverage = seriesCount(await run('receiver:fanin_coverage:ratio_rate5m'));
        const queues = seriesCount(await run(`rabbitmq_queue_messages_ready{queue=~"${fleet.namespace}[.].+"}`));
        const written = firstValue(await run('sum(fanin_uploader_events_written_total)'));
        return decided >= 2 * warmupLines + copies &&
          coverage >= 2 &&
          queues >= 3 &&
          written >= warmupLines + copies / 2
          ? true
          : undefined;
      },
      45_000,
      500,
    );

    const down = (await prom!.targets()).filter((t) => t.health !== 'up');
    assert.deepEqual(down, [], 'every scrape target is up');

    const panels = dashboardPanels().filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 30, `the dashboard has its panels (${panels.length})`);
    const loaded = await prom!.rules();
    assert.deepEqual(
      loaded
        .filter((r) => r.type === 'recording')
        .map((r) => r.name)
        .sort(),
      declaredRules(RULES, 'record').sort(),
    );
    assert.deepEqual(
      loaded
        .filter((r) => r.type === 'alerting')
        .map((r) => r.name)
        .sort(),
      declaredRules(ALERTS, 'alert').sort(),
    );
    let queries = 0;
    const evaluateAll = async (): Promise<string[]> => {
      const failures: string[] = [];
      queries = 0;
      // Dashboard: Grafana's variables replaced as Grafana would (rate interval: a few 1 s scrapes).
      for (const panel of panels) {
        for (const t of panel.targets ?? []) {
          const expr = t.expr
            .replaceAll('$__rate_interval', '30s')
            .replaceAll('$__interval', '1s')
            .replaceAll('$namespace', fleet.namespace);
          assert.ok(!expr.includes('$'), `panel "${panel.title}" ${t.refId}: unknown variable in ${t.expr}`);
          const r = await run(expr);
          queries++;
          if (r.status !== 'success') failures.push(`panel "${panel.title}" ${t.refId}: ${r.error}`);
          else if (seriesCount(r) === 0) failures.push(`panel "${panel.title}" ${t.refId}: no series for ${expr}`);
        }
      }

      // Rules: what Prometheus loaded is what the files declare, each evaluated without error.
      const rules = await prom!.rules();
      for (const rule of rules) {
        if (rule.health !== 'ok') failures.push(`rule ${rule.name}: health ${rule.health} ${rule.lastError ?? ''}`);
        const whole = await run(rule.query);
        if (whole.status !== 'success') {
          failures.push(`rule ${rule.name}: ${whole.error}`);
          continue;
        }
        if (rule.type === 'recording') {
          if (seriesCount(whole) === 0) failures.push(`recording rule ${rule.name}: no series`);
          const recorded = await run(rule.name);
          if (seriesCount(recorded) === 0) failures.push(`recording rule ${rule.name}: nothing recorded yet`);
          continue;
        }
        for (const signal of conditionSignals(rule.query)) {
          const r = await run(signal);
          if (r.status !== 'success') failures.push(`alert ${rule.name}: ${r.error} in ${signal}`);
          else if (seriesCount(r) === 0) failures.push(`alert ${rule.name}: no series for ${signal}`);
        }
      }
      return failures;
    };
    // A series born during the measured traffic (UDP's received counter, say) needs two scrapes before rate() shows
    // it, and a loaded machine can delay a scrape: evaluate again until everything returns series, up to 30 s.
    let failures = await evaluateAll();
    for (const deadline = Date.now() + 30_000; failures.length > 0 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 1000));
      failures = await evaluateAll();
    }
    assert.deepEqual(failures, [], `${failures.length} of ${queries} panel queries and ${loaded.length} rules failed`);

    // The numbers mean what they say: both receivers got every line, so each covers (about) all unique events.
    // rate() extrapolates each series from its last scrape to the evaluation time, and the two workers are scraped
    // at different moments, so a series only seconds old is scaled by up to (span + 1 s) / span: runs read 0.72 and
    // 1.21 with spans of a few seconds. With every copy series at least 20 s old, that is at most ~5 %.
    await new Promise((r) => setTimeout(r, Math.max(0, seriesScrapedAt + 20_000 - Date.now())));
    const coverage = await run('receiver:fanin_coverage:ratio_rate5m');
    const byReceiver = new Map(coverage.data!.result.map((s) => [s.metric.receiver, Number(s.value[1])]));
    assert.deepEqual([...byReceiver.keys()].sort(), ['a', 'b']);
    for (const [receiver, c] of byReceiver) assert.ok(c > 0.85 && c < 1.15, `coverage of ${receiver} is ${c}`);
    // The counters themselves are exact: each receiver delivered a copy of every unique event.
    for (const receiver of ['a', 'b']) {
      const delivered = firstValue(
        await run(`sum(fanin_worker_copies_total{receiver="${receiver}",result=~"unique|repeat|duplicate"})`),
      );
      const unique = firstValue(await run('sum(fanin_worker_copies_total{result=~"unique|repeat"})'));
      assert.equal(delivered, unique, `receiver ${receiver} delivered a copy of every unique event`);
    }
    assert.equal(firstValue(await run('sum(fanin_worker_copies_total{result="unique"})')) - before, 800);

    // A healthy fleet: no fanin alert fires.
    const firing = await run('ALERTS{alertstate="firing", alertname=~"Fanin.*"}');
    assert.deepEqual(
      firing.data?.result.map((s) => s.metric.alertname),
      [],
    );
  });
});
