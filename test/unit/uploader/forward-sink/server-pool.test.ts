// The Forward sink's server pool without a network: the pool is built from parsed settings and never started, so no
// heartbeat runs; what is checked is how picking walks the rotation and how a failed send reshapes it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ForwardSendError } from '../../../../uploader/forward-sink/forward-errors.js';
import { forwardSinkOptionsFromConfig } from '../../../../uploader/forward-sink/forward-sink-config.js';
import { createForwardSinkMetrics } from '../../../../uploader/forward-sink/forward-sink-metrics.js';
import { ServerPool, type ServerNode } from '../../../../uploader/forward-sink/server-pool.js';
import { metric, sinkSettings } from '../../../support/forward-fixtures.js';

const silent = pino({ level: 'silent' });

function pool(servers: string, heartbeatType: 'tcp' | 'none' = 'tcp') {
  const registry = new Registry();
  const options = forwardSinkOptionsFromConfig(sinkSettings(servers, { forwardSinkHeartbeatType: heartbeatType }));
  const p = new ServerPool(options, createForwardSinkMetrics(registry), silent);
  const byLabel = (label: string): ServerNode => p.nodes.find((n) => n.label === label)!;
  return { p, registry, byLabel };
}

function picks(p: ServerPool, count: number, tried: ReadonlySet<ServerNode> = new Set()): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(p.pick(tried)?.label ?? 'none');
  return out;
}

const tally = (labels: string[]) =>
  labels.reduce<Record<string, number>>((t, l) => ({ ...t, [l]: (t[l] ?? 0) + 1 }), {});

describe('forward sink server pool', () => {
  it('spreads picks by weight over a full rotation and leaves a standby server out while the regular ones are up', () => {
    const { p } = pool('127.0.0.1:1001:60,127.0.0.1:1002:20,127.0.0.1:1003:60:standby');
    const [a, b] = p.nodes.map((n) => n.label);
    // Weights 60:20 make 3+1 slots, repeated to 12 so each server gets at least 6: one full turn is 12 picks.
    assert.deepEqual(tally(picks(p, 12)), { [a!]: 9, [b!]: 3 });
    assert.deepEqual(tally(picks(p, 24)), { [a!]: 18, [b!]: 6 }, 'the next turns repeat the same shares');
    p.close();
  });

  it('skips the servers already tried for this chunk and answers null when none is left', () => {
    const { p } = pool('127.0.0.1:1001,127.0.0.1:1002');
    const [a, b] = p.nodes;
    assert.deepEqual(new Set(picks(p, 6, new Set([a!]))), new Set([b!.label]));
    assert.equal(p.pick(new Set([a!, b!])), null);
    p.close();
  });

  it('takes a server out at once on a failed send, counts it, and brings the standby in to cover its weight', async () => {
    const { p, registry } = pool('127.0.0.1:1001:60,127.0.0.1:1002:20,127.0.0.1:1003:60:standby');
    const [a, b, standby] = p.nodes;
    p.sendFailed(a!, new ForwardSendError('FORWARD_CONNECT_FAILED', 'connect ECONNREFUSED'));
    assert.equal(a!.up, false);
    const after = tally(picks(p, 48));
    assert.equal(after[a!.label], undefined, 'a server that is down is never picked');
    assert.ok(
      (after[standby!.label] ?? 0) > 0 && (after[b!.label] ?? 0) > 0,
      `the standby and the other server share the load: ${JSON.stringify(after)}`,
    );
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_up', { server: a!.label }), 0);
    assert.equal(await metric(registry, 'fanin_uploader_forward_server_active', { server: standby!.label }), 1);
    assert.equal(await metric(registry, 'fanin_uploader_forward_send_failures_total', { server: a!.label }), 1);
    p.close();
  });

  it('with every server down picks nothing', () => {
    const { p } = pool('127.0.0.1:1001,127.0.0.1:1002');
    for (const n of p.nodes) p.sendFailed(n, new ForwardSendError('FORWARD_ACK_TIMEOUT', 'no ack'));
    assert.equal(p.pick(new Set()), null);
    p.close();
  });

  it('without heartbeats a failed send never takes a server out: nothing could bring it back', () => {
    const { p } = pool('127.0.0.1:1001,127.0.0.1:1002', 'none');
    const [a] = p.nodes;
    p.sendFailed(a!, new ForwardSendError('FORWARD_CONNECT_FAILED', 'connect ECONNREFUSED'));
    assert.equal(a!.up, true);
    assert.ok(picks(p, 12).includes(a!.label));
    p.close();
  });
});
