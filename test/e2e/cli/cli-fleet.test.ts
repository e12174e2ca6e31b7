import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpAccepts, tlsAccepts } from '../../../cli/fleet/readiness.js';
import { localFleet } from '../../../cli/fleet/local-layout.js';
import { takenPorts } from '../../../cli/port-preflight.js';
import { CliProcess, runCli, warnings } from '../../support/cli-run.js';
import { AMQP_URL, cleanupNamespace, uniqueNamespace } from '../../../testkit/services.js';

/** An offset of at least 400 at which every port of the fleet is free on 127.0.0.1 (never the default ports). */
async function freeOffset(): Promise<number> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const offset = 400 + Math.floor(Math.random() * 7600);
    const members = localFleet(offset, '127.0.0.1', { certFile: 'c', keyFile: 'k' });
    if ((await takenPorts(members, () => '127.0.0.1')).length === 0) return offset;
  }
  throw new Error('no free port offset');
}

/** Local addresses of the TCP sockets listening on `port`, from /proc/net/tcp and tcp6 ("127.0.0.1", "0.0.0.0", "::"…). */
function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A: LISTEN
      const [addr, hexPort] = f[1]!.split(':') as [string, string];
      if (parseInt(hexPort, 16) !== port) continue;
      if (addr.length === 8)
        out.push(
          addr
            .match(/../g)!
            .reverse()
            .map((b) => parseInt(b, 16))
            .join('.'),
        );
      else out.push(/^0+$/.test(addr) ? '::' : addr === '00000000000000000000000001000000' ? '::1' : addr);
    }
  }
  return out;
}

/**
 * `fanin up` (the `npm start` path) as users run it, on a port offset of its own: the banner comes when every input
 * accepts connections, metrics stay on loopback, a second fleet on the same ports says so and exits, a member that
 * cannot start is not restarted in a loop, a refused RabbitMQ login is named, and a clean drain warns of nothing.
 */
describe('fanin up', () => {
  const namespace = uniqueNamespace('cliup');
  const dir = mkdtempSync(join(tmpdir(), 'fanin-cliup-'));
  let offset = 0;
  let fleet: CliProcess;
  const env = (): Record<string, string> => ({
    FANIN_NAMESPACE: namespace,
    FANIN_LOG_LEVEL: 'info',
    FANIN_DRAIN_TIMEOUT_MS: '8000',
    FANIN_UPLOADER_FILE_SINK_DIR: join(dir, 'out'),
    FANIN_UPLOADER_SECONDARY_DIR: join(dir, 'secondary'),
    FANIN_RECEIVER_SPOOL_DIR: join(dir, 'spool'),
  });
  before(async () => {
    offset = await freeOffset();
    fleet = new CliProcess(['up', '--port-offset', String(offset)], env());
  });
  after(async () => {
    await fleet.stop();
    await cleanupNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its banner only when every listed TCP input accepts a connection', async () => {
    await fleet.waitForOutput(/Ctrl-C drains and stops the fleet/, 90_000);
    const banner = fleet.stdout;
    const inputs = [
      ...banner.matchAll(
        /(syslog udp\+tcp|syslog tls|forward tcp\+udp) 127\.0\.0\.1:(\d+)|http input http:\/\/127\.0\.0\.1:(\d+)\//g,
      ),
    ].map((m) => ({ tls: m[1] === 'syslog tls', port: Number(m[2] ?? m[3]) }));
    assert.equal(inputs.length, 8, `two receivers with syslog, TLS, Forward and HTTP inputs:\n${banner}`);
    const refused = (
      await Promise.all(
        inputs.map(async ({ tls, port }) => ({
          port,
          error: await (tls ? tlsAccepts : tcpAccepts)('127.0.0.1', port),
        })),
      )
    ).filter((r) => r.error !== null);
    assert.deepEqual(refused, [], 'every input accepts a connection when the banner appears');
    assert.ok(
      inputs.some((i) => i.port === 5514 + offset) && inputs.some((i) => i.port === 24225 + offset),
      'the inputs are on the shifted ports',
    );
  });

  it('binds every metrics port to 127.0.0.1, like the inputs', async () => {
    await fleet.waitForOutput(/Ctrl-C drains/, 90_000);
    const ports = [...fleet.stdout.matchAll(/metrics http:\/\/127\.0\.0\.1:(\d+)\/metrics/g)].map((m) => Number(m[1]));
    assert.equal(ports.length, 5, fleet.stdout);
    for (const port of ports) assert.deepEqual(listeningAddresses(port), ['127.0.0.1'], `metrics port ${port}`);
  });

  it('a second fleet on the same ports names the ports taken and exits 1 without starting or restarting members', async () => {
    await fleet.waitForOutput(/Ctrl-C drains/, 90_000);
    const second = await runCli(['up', '--port-offset', String(offset)], env(), 60_000);
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `^fanin: cannot start the local fleet: ports in use: ${5514 + offset}/tcp\\+udp \\(receiver-a syslog\\)`,
        'm',
      ),
    );
    assert.match(second.stderr, new RegExp(`${9621 + offset}/tcp \\(uploader metrics\\)`));
    assert.match(second.stderr, /--port-offset/);
    assert.doesNotMatch(second.stdout + second.stderr, /restarting|exited/);
    assert.ok(fleet.running, 'the first fleet runs on');
  });

  it('drains on SIGTERM with exit 0 and no warning logged by any member', async () => {
    await fleet.waitForOutput(/Ctrl-C drains/, 90_000);
    const { code } = await fleet.stop();
    assert.equal(code, 0);
    assert.match(fleet.stdout, /fanin: fleet stopped/);
    assert.equal((fleet.stdout.match(/drained; exiting/g) ?? []).length, 5, 'the five members drained');
    assert.deepEqual(warnings(fleet.stdout + fleet.stderr), []);
  });

  it('a member that cannot start (configuration refused at start: exit 78) stops the fleet instead of restarting it', async () => {
    const r = await runCli(
      ['up', '--port-offset', String(offset)],
      { ...env(), FANIN_RECEIVER_FORWARD_USERS: 'alice:secret' },
      90_000,
    );
    assert.equal(r.code, 78, r.stdout + r.stderr);
    assert.match(r.stderr, /receiver\.forwardUsers: user authentication needs receiver\.forwardSharedKey/);
    assert.match(
      r.stderr,
      /receiver-[ab] exited \(code 78\); a configuration error or a port it cannot bind: not restarting it/,
    );
    assert.doesNotMatch(r.stderr, /restarting in 1 s/);
    assert.doesNotMatch(r.stdout, /Ctrl-C drains/, 'no banner for a fleet that is not up');
  });

  it('names a refused RabbitMQ login (ACCESS_REFUSED) as wrong credentials, without the password', async () => {
    const url = new URL(AMQP_URL);
    url.password = 'not-the-password';
    const r = await runCli(
      ['up', '--port-offset', String(offset)],
      { ...env(), FANIN_AMQP_URL: url.toString() },
      30_000,
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672 refused the login \(ACCESS_REFUSED\): wrong user or password/,
    );
    assert.doesNotMatch(r.stderr, /cannot reach RabbitMQ|not-the-password/);
    const vhost = await runCli(
      ['up', '--port-offset', String(offset)],
      { ...env(), FANIN_AMQP_URL: `${AMQP_URL}/no-such-vhost-${namespace}` },
      30_000,
    );
    assert.equal(vhost.code, 1);
    assert.match(vhost.stderr, /refused the virtual host "no-such-vhost-/);
    const closed = await runCli(
      ['up', '--port-offset', String(offset)],
      { ...env(), FANIN_AMQP_URL: `amqp://guest:guest@127.0.0.1:${5514 + offset}` },
      30_000,
    );
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /cannot reach RabbitMQ at .*: nothing listens there \(ECONNREFUSED\); start it with/);
  });
});
