import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePrometheusText, sumBy } from '../../../cli/prom-text.js';
import { fanOutSend } from '../../../cli/send.js';
import { computeView, fleetTotals, renderView, type TopView } from '../../../cli/top-stats.js';
import { LocalFleetProcess, metricValue } from '../../support/local-fleet-process.js';
import { ensureRabbitmqPrometheus } from '../../support/rabbitmq-prometheus.js';
import { waitFor } from '../../../testkit/services.js';

const CLI = fileURLToPath(new URL('../../../cli/fanin.js', import.meta.url));

describe('Prometheus text parsing', () => {
  it('reads names, labels with escapes, special values; skips comments and malformed lines', () => {
    const samples = parsePrometheusText(
      [
        '# HELP x_total Things.',
        '# TYPE x_total counter',
        'x_total{a="1",b="say \\"hi\\"\\\\ \\n"} 3',
        'x_total{a="2",} 4.5 1700000000000',
        'y NaN',
        'z{q="v"} +Inf',
        'w -Inf',
        'bad{a=1} 2',
        '{a="1"} 2',
        'novalue',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      samples.map((s) => s.name),
      ['x_total', 'x_total', 'y', 'z', 'w'],
    );
    assert.deepEqual(samples[0]!.labels, { a: '1', b: 'say "hi"\\ \n' });
    assert.equal(samples[1]!.value, 4.5);
    assert.ok(Number.isNaN(samples[2]!.value));
    assert.equal(samples[3]!.value, Infinity);
    assert.equal(samples[4]!.value, -Infinity);
    assert.deepEqual(
      [...sumBy(samples, 'x_total', 'a')],
      [
        ['1', 3],
        ['2', 4.5],
      ],
    );
  });
});

describe('fanin top: rates and coverage', () => {
  const worker = (id: string, a: [number, number], b: [number, number], holding = 0) =>
    parsePrometheusText(
      [
        `fanin_worker_copies_total{receiver="a",result="unique",component="dedup-worker",instance_id="${id}"} ${a[0]}`,
        `fanin_worker_copies_total{receiver="a",result="duplicate",component="dedup-worker",instance_id="${id}"} ${a[1]}`,
        `fanin_worker_copies_total{receiver="b",result="unique",component="dedup-worker",instance_id="${id}"} ${b[0]}`,
        `fanin_worker_copies_total{receiver="b",result="duplicate",component="dedup-worker",instance_id="${id}"} ${b[1]}`,
        `fanin_worker_holding{component="dedup-worker",instance_id="${id}"} ${holding}`,
        `fanin_worker_redis_up{component="dedup-worker",instance_id="${id}"} ${1 - holding}`,
      ].join('\n'),
    );
  const receiver = (id: string, n: number) =>
    parsePrometheusText(
      `fanin_receiver_events_received_total{protocol="syslog",transport="udp",component="receiver",instance_id="${id}"} ${n}`,
    );
  const rabbit = parsePrometheusText(
    [
      'rabbitmq_detailed_queue_messages_ready{vhost="/",queue="fanin.sink.file"} 2',
      'rabbitmq_detailed_queue_messages_ready{vhost="/",queue="fanin.new"} 7',
      'rabbitmq_detailed_queue_messages_unacked{vhost="/",queue="fanin.new"} 3',
      'rabbitmq_detailed_queue_messages_ready{vhost="/",queue="other.new"} 100',
    ].join('\n'),
  );

  it('computes per-second rates, coverage over the interval and since start, and queue depths', () => {
    const t0 = fleetTotals(
      [
        { url: 'r-a', samples: receiver('a', 100) },
        { url: 'r-b', samples: receiver('b', 90) },
        { url: 'w1', samples: worker('w1', [60, 30], [30, 60]) },
        { url: 'rmq', samples: rabbit },
      ],
      'fanin',
      10_000,
    );
    const t1 = fleetTotals(
      [
        { url: 'r-a', samples: receiver('a', 300) },
        { url: 'r-b', samples: receiver('b', 270) },
        { url: 'w1', samples: worker('w1', [160, 100], [100, 80], 1) },
        { url: 'rmq', samples: rabbit },
        { url: 'w2', samples: null, error: 'ECONNREFUSED' },
      ],
      'fanin',
      12_000,
    );
    const view = computeView(t0, t1);
    const a = view.receivers.find((r) => r.id === 'a')!;
    const b = view.receivers.find((r) => r.id === 'b')!;
    assert.equal(view.intervalSeconds, 2);
    assert.equal(a.ingestRate, 100);
    assert.equal(a.firstRate, 50); // (160 - 60) / 2
    assert.equal(a.duplicateRate, 35); // (100 - 30) / 2
    // Unique events of the fleet in the interval: (160 - 60) + (100 - 30) = 170; a delivered 100 + 70 of them.
    assert.equal(a.coverage, 1);
    assert.equal(b.coverage, (70 + 20) / 170);
    assert.equal(a.coverageTotal, 260 / 260);
    assert.equal(b.coverageTotal, 180 / 260);
    assert.equal(view.fleet.uniqueRate, 85);
    assert.deepEqual(view.queues, [
      { name: 'fanin.new', ready: 7, unacked: 3 },
      { name: 'fanin.sink.file', ready: 2, unacked: 0 },
    ]);
    assert.deepEqual(
      view.workers.map((w) => [w.id, w.holding, w.redisUp, w.decidedRate]),
      [['w1', true, false, 130]],
    );
    const text = renderView(view, 'fanin');
    assert.match(text, /targets 4\/5 up/);
    assert.match(text, /^a\s+100\.0\s+50\.0\s+35\.0\s+100\.0%\s+100\.0%\s+300\s+160\s+100$/m);
    assert.match(text, /w1 130\.0\/s HOLDING \(redis down\)/);
    assert.match(text, /DOWN\s+w2 \(ECONNREFUSED\)/);
  });

  it('treats a counter that went down as restarted, and shows no rates on the first frame', () => {
    const t0 = fleetTotals([{ url: 'r', samples: receiver('a', 1000) }], 'fanin', 0);
    const t1 = fleetTotals([{ url: 'r', samples: receiver('a', 40) }], 'fanin', 1000);
    assert.equal(computeView(t0, t1).receivers[0]!.ingestRate, 40);
    const first = computeView(null, t1);
    assert.equal(first.receivers[0]!.ingestRate, null);
    assert.equal(first.queues, null);
    assert.match(renderView(first, 'fanin'), /QUEUES\s+- \(RabbitMQ/);
  });
});

describe('fanin top on the local fleet', { timeout: 120_000 }, () => {
  const fleet = new LocalFleetProcess();
  before(async () => {
    await ensureRabbitmqPrometheus();
    await fleet.start();
  });
  after(async () => {
    await fleet.cleanup();
  });

  const top = async (...args: string[]): Promise<string> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'top', '--port-offset', String(fleet.portOffset), '--once', ...args],
      {
        env: { ...process.env, FANIN_NAMESPACE: fleet.namespace },
        timeout: 60_000,
      },
    );
    return stdout;
  };

  it('--once shows live rates while traffic flows, then totals that match what was sent', async () => {
    const targets = [
      { host: '127.0.0.1', port: fleet.port(5514) },
      { host: '127.0.0.1', port: fleet.port(5515) },
    ];
    const runId = randomBytes(3).toString('hex');
    let sent = 0;
    let stop = false;
    // Steady fan-out traffic until top has taken its two scrapes (bounded: at most 60 s).
    const traffic = (async () => {
      const deadline = Date.now() + 60_000;
      for (let round = 0; !stop && Date.now() < deadline; round++) {
        await fanOutSend({
          targets,
          framing: 'octet',
          count: 50,
          rate: 500,
          message: 'top',
          runId: `${runId}-${round}`,
        });
        sent += 50;
      }
    })();
    let live: TopView & { namespace: string };
    try {
      await waitFor('traffic to start', () => (sent > 0 ? true : undefined), 20_000, 20);
      live = JSON.parse(await top('--json', '--interval', '1500')) as TopView & { namespace: string };
    } finally {
      stop = true;
      await traffic;
    }
    assert.equal(live.namespace, fleet.namespace);
    assert.equal(live.targets.filter((t) => t.up).length, 6, 'five processes and RabbitMQ answered');
    for (const id of ['a', 'b']) {
      const r = live.receivers.find((x) => x.id === id);
      assert.ok(r && r.ingestRate !== null && r.ingestRate > 0, `receiver ${id} ingest rate ${r?.ingestRate}`);
    }
    assert.ok(
      live.fleet.uniqueRate! > 0 && live.fleet.duplicateRate! > 0,
      `unique ${live.fleet.uniqueRate}/s, duplicates ${live.fleet.duplicateRate}/s`,
    );
    assert.equal(live.workers.length, 2);

    // Settled: every event written once. Totals since start are exact.
    await waitFor(
      `${sent} events written`,
      async () =>
        metricValue(await fleet.metrics(9621), 'fanin_uploader_events_written_total') >= sent ? true : undefined,
      30_000,
      200,
    );
    const settled = JSON.parse(await top('--json', '--interval', '200')) as TopView;
    const row = (id: string) => settled.receivers.find((x) => x.id === id)!;
    assert.equal(settled.targets.filter((t) => t.up).length, 6, JSON.stringify(settled.targets));
    assert.deepEqual(
      settled.receivers.map((r) => r.id),
      ['a', 'b'],
    );
    for (const id of ['a', 'b']) {
      assert.equal(row(id).received, sent, `receiver ${id} received every line`);
      assert.equal(row(id).coverageTotal, 1, `receiver ${id} covers every unique event`);
    }
    assert.equal(row('a').first + row('b').first, sent, 'each event delivered first by one receiver');
    assert.equal(settled.fleet.unique, sent);
    assert.equal(settled.fleet.duplicate, sent);
    assert.equal(settled.fleet.written, sent);
    // RabbitMQ's plugin reports a new queue only after its next statistics emission (every 5 s): wait for it.
    const withQueues = await waitFor(
      'queue depths from RabbitMQ',
      async () => {
        const view = JSON.parse(await top('--json', '--interval', '200')) as TopView;
        return view.queues && view.queues.length === 3 ? view : undefined;
      },
      20_000,
      500,
    );
    assert.deepEqual(
      withQueues.queues?.map((q) => q.name),
      [`${fleet.namespace}.new`, `${fleet.namespace}.sink.file`, `${fleet.namespace}.dead`],
    );
    assert.ok(settled.workers.every((w) => !w.holding && w.redisUp));

    const text = await top('--interval', '200');
    assert.match(text, new RegExp(`^a\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+100\\.0%\\s+${sent}\\s`, 'm'));
    assert.match(text, /WORKERS\s+2 up/);
    assert.match(text, new RegExp(`QUEUES\\s+${fleet.namespace}\\.new ready \\d+ unacked \\d+`));
  });
});
