import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { Registry } from 'prom-client';
import { fanOutSend } from '../../../cli/send.js';
import { createLogger } from '../../../shared/logger.js';
import { forwardSinkOptionsFromConfig } from '../../../uploader/forward-sink/forward-sink-config.js';
import { ForwardSink } from '../../../uploader/forward-sink/forward-sink.js';
import { batchOf, forwardEnvelope, sinkSettings } from '../../support/forward-fixtures.js';
import { LocalFleetProcess, metricValue } from '../../support/local-fleet-process.js';
import { ScriptedForwardServer } from '../../support/scripted-forward-server.js';
import { AMQP_URL, waitFor } from '../../../testkit/services.js';

/**
 * The real `fanin up` (receivers, workers, uploader as child processes, real RabbitMQ and Redis) with the forward
 * sink next to the file sink, sending to a scripted aggregator that drops the first ack of every chunk.
 */
describe('forward sink in the real uploader process', () => {
  const agg = new ScriptedForwardServer({ ack: (_chunk, n) => (n === 0 ? 'drop' : 'ack') });
  const fleet = new LocalFleetProcess();
  const saved: Record<string, string | undefined> = {};
  const env = (name: string, value: string) => {
    saved[name] = process.env[name];
    process.env[name] = value;
  };

  before(async () => {
    await agg.start();
    // LocalFleetProcess passes the test's environment on to `fanin up`.
    env('FANIN_SINKS', 'file,forward');
    env('FANIN_UPLOADER_FORWARD_SINK_SERVERS', `127.0.0.1:${agg.port}`);
    env('FANIN_UPLOADER_FORWARD_SINK_ACK_RESPONSE_TIMEOUT_MS', '400');
    env('FANIN_UPLOADER_FORWARD_SINK_HEARTBEAT_INTERVAL_MS', '100');
    env('FANIN_UPLOADER_FORWARD_SINK_UP_AFTER_HEARTBEATS', '1');
    env('FANIN_UPLOADER_FORWARD_SINK_COMPRESS', 'gzip');
    await fleet.start();
  });
  after(async () => {
    await fleet.cleanup();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await agg.close();
    const conn = await connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.deleteQueue(`${fleet.namespace}.sink.forward`).catch(() => undefined);
    await conn.close().catch(() => undefined);
  });

  it('forwards each fanned-out event once (by id) despite dropped acks, and counts the resends', async () => {
    const runId = `fwd-${randomBytes(3).toString('hex')}`;
    const targets = [
      { host: '127.0.0.1', port: fleet.port(5514) },
      { host: '127.0.0.1', port: fleet.port(5515) },
    ];
    await fanOutSend({ targets, framing: 'tcp', count: 200, rate: 4000, message: 'to-aggregator', runId });
    const mine = () =>
      agg.messages
        .filter((m) => m.acked)
        .flatMap((m) => m.events)
        .filter((e) => typeof e.record.message === 'string' && e.record.message.includes(`run=${runId} `));
    const events = await waitFor(
      '200 events acknowledged by the aggregator',
      () => {
        const ids = new Set(mine().map((e) => e.record.fanin_id));
        return ids.size >= 200 ? mine() : undefined;
      },
      30_000,
      100,
    );
    const byId = new Map(events.map((e) => [e.record.fanin_id, e]));
    assert.equal(byId.size, 200);
    const seqs = new Set([...byId.values()].map((e) => /seq=(\d+)/.exec(String(e.record.message))?.[1]));
    assert.equal(seqs.size, 200, 'every sequence number once: the fan-out copies were deduplicated before the sink');
    for (const e of byId.values()) {
      assert.equal(e.tag, 'syslog.local0.info');
      assert.equal(e.record.format, 'rfc5424');
      assert.ok(e.seconds > 1_700_000_000);
    }
    const metrics = await fleet.metrics(9621);
    assert.ok(metricValue(metrics, 'fanin_uploader_forward_resends_total') >= 1, 'resends counted');
    assert.ok(metricValue(metrics, 'fanin_uploader_forward_ack_timeouts_total') >= 1);
    await waitFor(
      'file sink too',
      () => (fleet.readOutput().filter((l) => l.message?.includes(`run=${runId} `)).length === 200 ? true : undefined),
      20_000,
    );
  });

  it("delivers through fanin's own Forward input: fanned out to both receivers and resent, each event lands once", async () => {
    const runId = `loop-${randomBytes(3).toString('hex')}`;
    const tag = `loop.${runId}`;
    const sent = Array.from({ length: 4 }, (_, b) =>
      batchOf(
        `${runId}:${b}`,
        Array.from({ length: 5 }, (_, i) => [
          `${runId}-${b}-${i}`,
          forwardEnvelope(
            { run: runId, n: b * 5 + i, nested: { ok: true } },
            { tag, time: `2026-03-01T10:20:30.12345678${i}Z` },
          ),
        ]),
      ),
    );
    const sinkTo = (base: number) =>
      new ForwardSink(
        forwardSinkOptionsFromConfig(sinkSettings(`127.0.0.1:${fleet.port(base)}`)),
        new Registry(),
        createLogger('test', 'loop', 'silent'),
      );
    const [a, b, again] = [sinkTo(24224), sinkTo(24225), sinkTo(24224)];
    try {
      // Each write resolves only after the receiver acked every chunk, i.e. after the broker confirmed its batch.
      await Promise.all([a.write(sent), b.write(sent)]);
      // A fresh sink (no memory of acks) resends the same batches: same chunk ids, which the receivers remember.
      assert.equal((await again.write(sent)).written, 20);
    } finally {
      await Promise.all([a.close(), b.close(), again.close()]);
    }
    const lines = await waitFor(
      '20 events in the file sink',
      () => {
        const l = fleet.readOutput().filter((x) => x.tag === tag);
        return l.length >= 20 ? l : undefined;
      },
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would arrive by now
    const all = fleet.readOutput().filter((x) => x.tag === tag);
    assert.equal(all.length, 20, 'each event once: fan-out copies deduplicated, the resent chunks dropped whole');
    const byN = new Map(lines.map((l) => [l.record?.n, l]));
    assert.equal(byN.size, 20);
    const first = byN.get(7)!;
    assert.equal(first.format, 'forward');
    assert.equal(first.time, '2026-03-01T10:20:30.123456782Z', 'EventTime nanoseconds exact end to end');
    assert.deepEqual(first.record, { run: runId, n: 7, nested: { ok: true }, fanin_id: `${runId}-1-2` });
  });
});
