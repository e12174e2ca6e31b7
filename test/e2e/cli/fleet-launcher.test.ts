import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FleetLauncher } from '../../../cli/fleet/fleet-launcher.js';
import type { MemberSpec } from '../../../cli/fleet/member-command.js';
import type { MemberExit } from '../../../cli/fleet/member-process.js';
import { httpNotOk } from '../../../cli/fleet/readiness.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { AMQP_URL, cleanupNamespace, REDIS_URL, uniqueNamespace, waitFor } from '../../../testkit/services.js';

/** A real `fanin worker` against the shared RabbitMQ and Redis, in its own namespace. */
function workerSpec(
  name: string,
  namespace: string,
  metricsPort: number,
  extra: Record<string, string> = {},
): MemberSpec {
  return {
    name,
    role: 'worker',
    env: {
      FANIN_NAMESPACE: namespace,
      FANIN_AMQP_URL: AMQP_URL,
      FANIN_REDIS_URL: REDIS_URL,
      FANIN_WORKER_ID: name,
      FANIN_METRICS_HOST: '127.0.0.1',
      FANIN_METRICS_PORT: String(metricsPort),
      FANIN_LOG_LEVEL: 'warn',
      FANIN_DRAIN_TIMEOUT_MS: '5000',
      ...extra,
    },
  };
}

function environ(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((e) => {
        const i = e.indexOf('=');
        return [e.slice(0, i), e.slice(i + 1)];
      }),
  );
}

const ready = (port: number) =>
  waitFor(
    `readyz on ${port}`,
    async () => ((await httpNotOk(`http://127.0.0.1:${port}/readyz`)) === null ? true : undefined),
    30_000,
  );

describe('the fleet launcher', () => {
  const namespace = uniqueNamespace('launcher');
  let fleet: FleetLauncher | null = null;
  after(async () => {
    await fleet?.stop(10_000);
    await cleanupNamespace(namespace);
  });

  it('restarts a member as its policy says and reports each exit as unasked', async () => {
    const exits: { exit: MemberExit; restarting: boolean }[] = [];
    const [port] = await freePorts(1);
    // An invalid setting makes the worker exit at once with the configuration exit code.
    const bad = new FleetLauncher([workerSpec('w-bad', namespace, port!, { FANIN_WORKER_PREFETCH: 'many' })], {
      output: 'ignore',
      inheritSettings: false,
      restartDelay: (exit) => (exits.length < 1 && exit.code === 78 ? 50 : null),
      onExit: (exit, restarting) => exits.push({ exit, restarting }),
    });
    bad.start();
    await waitFor('two exits', () => (exits.length === 2 ? true : undefined), 20_000);
    assert.deepEqual(
      exits.map((e) => [e.exit.code, e.exit.expected, e.restarting]),
      [
        [78, false, true],
        [78, false, false],
      ],
    );
    assert.notEqual(exits[0]!.exit.pid, exits[1]!.exit.pid);
    assert.deepEqual(
      bad.down().map((m) => m.name),
      ['w-bad'],
    );
    assert.deepEqual(await bad.stop(1000), []);
  });

  it('lays member settings over its environment, applies new ones at a restart and drains even a stopped member', async () => {
    const [portA, portB] = await freePorts(2);
    const exits: MemberExit[] = [];
    fleet = new FleetLauncher([workerSpec('w1', namespace, portA!), workerSpec('w2', namespace, portB!)], {
      output: 'ignore',
      inheritSettings: false,
      baseEnv: { ...process.env, FANIN_LOG_LEVEL: 'debug', LAUNCHER_TEST: 'kept' },
      restartDelay: () => 100,
      onExit: (exit) => exits.push(exit),
    });
    fleet.start();
    await ready(portA!);
    await ready(portB!);
    const w1 = fleet.member('w1');
    const first = environ(w1.pid!);
    assert.equal(first.LAUNCHER_TEST, 'kept');
    assert.equal(first.FANIN_LOG_LEVEL, 'warn', 'the spec wins over the base environment');

    w1.setEnv({ FANIN_WORKER_PREFETCH: '7' });
    assert.equal(environ(w1.pid!).FANIN_WORKER_PREFETCH, undefined, 'a running member keeps what it started with');
    const old = w1.pid;
    w1.signal('SIGKILL');
    await waitFor('w1 restarted', () => (w1.pid !== null && w1.pid !== old && w1.running() ? true : undefined), 20_000);
    assert.equal(environ(w1.pid!).FANIN_WORKER_PREFETCH, '7');
    assert.deepEqual(
      exits.map((e) => [e.name, e.signal, e.expected]),
      [['w1', 'SIGKILL', true]],
    );
    await ready(portA!);

    // stop sends SIGCONT before SIGTERM: a member held by SIGSTOP drains too instead of waiting out the bound.
    fleet.member('w2').signal('SIGSTOP');
    assert.deepEqual(await fleet.stop(15_000), [], 'both drained within the bound');
    assert.deepEqual(
      exits
        .slice(1)
        .map((e) => [e.name, e.code, e.expected])
        .sort(),
      [
        ['w1', 0, true],
        ['w2', 0, true],
      ],
    );
    assert.equal(fleet.down().length, 2);
  });
});
