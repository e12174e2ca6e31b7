import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli-run.js';

/**
 * `fanin validate` and configuration errors as users meet them: the real CLI in a child process; exit 78 (EX_CONFIG)
 * from every command, so systemd's RestartPreventExitStatus=78 stops a restart loop.
 */
describe('fanin validate and configuration errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fanin-validate-'));
  /** A listener standing in for every server a configuration names: validate must never connect to it. */
  let trap: Server;
  let trapPort = 0;
  let connections = 0;
  before(async () => {
    trap = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => trap.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const json = (name: string, value: unknown) => file(name, JSON.stringify(value, null, 2));

  it('a valid configuration with named sinks of every type: exit 0, one line naming roles and sinks, no connection made', async () => {
    const config = json('valid.json', {
      namespace: 'valid-ns',
      amqpUrl: `amqp://guest:guest@127.0.0.1:${trapPort}`,
      redisUrl: `redis://127.0.0.1:${trapPort}`,
      receiver: { id: 'edge1', syslogTlsPort: 0 },
      uploader: { unroutedSink: 'search' },
      sinks: ['archive', 'aggregator', 'pg', 'search'],
      sinkDefinitions: {
        archive: { type: 'file', dir: join(dir, 'out'), path: 'events.%Y%m%d.ndjson', match: 'syslog.**' },
        aggregator: { type: 'forward', servers: `127.0.0.1:${trapPort}`, match: ['app.**'], exclude: 'app.debug.**' },
        pg: { type: 'postgres', url: `postgres://fanin@127.0.0.1:${trapPort}/fanin`, minSeverity: 'err' },
        search: { type: 'http', url: `http://127.0.0.1:${trapPort}/`, mode: 'bulk' },
      },
    });
    const r = await runCli(['validate', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(
      lines[0]!,
      /^configuration valid \(--config .*valid\.json\): namespace "valid-ns": receiver edge1 \(syslog 5514, forward 24224, http 8888/,
    );
    assert.match(
      lines[0]!,
      /uploader u1 -> archive \(file\), aggregator \(forward\), pg \(postgres\), search \(http\)$/,
    );
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(connections, 0, 'validate connects to nothing');
  });

  it('lists every problem of the receiver and of every sink, each naming its key, and exits 78', async () => {
    const config = json('invalid.json', {
      receiver: {
        tlsCertFile: join(dir, 'missing-cert.pem'),
        tlsKeyFile: join(dir, 'missing-key.pem'),
        forwardUsers: 'alice:secret',
      },
      sinks: ['archive', 'pg', 'pg2', 'search', 'routed', 'nowhere'],
      sinkDefinitions: {
        archive: { type: 'file', path: 'events.%Q.ndjson' },
        pg: { type: 'postgres', url: 'mysql://db/fanin' },
        routed: { type: 'stdout', match: '{a,b', minSeverity: 'loud' },
        pg2: { type: 'postgres', colour: 'blue' },
        search: { type: 'http' },
      },
    });
    const r = await runCli(['validate', '--config', config]);
    assert.equal(r.code, 78, r.stdout + r.stderr);
    assert.match(r.stderr, /^fanin: invalid configuration:/);
    for (const expected of [
      /receiver\.tlsCertFile: cannot read .*missing-cert\.pem/,
      /receiver\.forwardUsers: user authentication needs receiver\.forwardSharedKey/,
      /sinks: unknown sink "nowhere"/,
      /sinkDefinitions\.pg2\.colour: unknown option of a postgres sink/,
      /sinkDefinitions\.pg\.url: expected postgres:\/\//,
      /sinkDefinitions\.archive\.path: /,
      /sinkDefinitions\.routed\.match: unclosed \{ in "\{a,b"/,
      /sinkDefinitions\.routed\.minSeverity: a syslog severity/,
      /uploader\.httpSink\.url .*: the HTTP sink needs a URL/,
    ])
      assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a JSON syntax error says so with its position, and names the file as --config', async () => {
    const config = file('syntax.json', '{\n  "namespace": "x",\n}\n');
    const r = await runCli(['validate', '--config', config]);
    assert.equal(r.code, 78);
    assert.match(
      r.stderr,
      new RegExp(`--config ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: .*position \\d+.*line 3`),
    );
    assert.doesNotMatch(r.stderr, /FANIN_CONFIG|is not a JSON object/);
  });

  it('a top level that is not an object says that; an unreadable file says that; FANIN_CONFIG is named when it gave the file', async () => {
    const array = await runCli(['validate', '--config', file('array.json', '[{"namespace": "x"}]')]);
    assert.equal(array.code, 78);
    assert.match(array.stderr, /--config .*array\.json: the top level must be a JSON object .*got an array/);
    const missing = await runCli(['validate', '--config', join(dir, 'absent.json')]);
    assert.equal(missing.code, 78);
    assert.match(missing.stderr, /--config .*absent\.json: cannot read it: ENOENT/);
    const viaEnv = await runCli(['validate'], { FANIN_CONFIG: file('env.json', '{"namespace": }') });
    assert.equal(viaEnv.code, 78);
    assert.match(viaEnv.stderr, /FANIN_CONFIG .*env\.json: not valid JSON/);
    const badKey = await runCli(['validate', '--config', json('badkey.json', { receiver: { syslogPrt: 1 } })]);
    assert.equal(badKey.code, 78);
    assert.match(badKey.stderr, /receiver\.syslogPrt: unknown key in --config .*badkey\.json/);
  });

  it('every command that reads the configuration exits 78 on a configuration error, before starting anything', async () => {
    const bad = file('bad-for-all.json', '{"receiver": {"syslogPort": "many"}}');
    for (const args of [
      ['receiver'],
      ['worker'],
      ['uploader'],
      ['up', '--port-offset', '4000'],
      ['top', '--once'],
      ['validate'],
    ]) {
      const r = await runCli([...args, '--config', bad], {}, 20_000);
      assert.equal(r.code, 78, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        /receiver\.syslogPort \(key "receiver\.syslogPort" of --config .*bad-for-all\.json\)/,
        args.join(' '),
      );
      assert.doesNotMatch(r.stdout, /local fleet|listening/);
    }
    const viaEnv = await runCli(['worker'], { FANIN_WORKER_PREFETCH: '-1' }, 20_000);
    assert.equal(viaEnv.code, 78);
    assert.match(viaEnv.stderr, /worker\.prefetch \(environment variable FANIN_WORKER_PREFETCH\)/);
  });
});
