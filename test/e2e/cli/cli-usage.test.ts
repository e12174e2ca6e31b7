import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../../cli/commands.js';
import { restartsAfter } from '../../../cli/run-fleet.js';
import { runCli } from '../../support/cli-run.js';
import { freePort } from '../../../testkit/free-ports.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** No stack trace, no Node internals: what a user sees for a wrong command line. */
function assertCleanUsageError(
  r: { code: number | null; stdout: string; stderr: string },
  message: RegExp,
  command: string,
): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, message);
  assert.match(lines[0]!, /^fanin: /);
  assert.match(r.stderr, new RegExp(`usage: fanin ${command}`));
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|node:internal|NaN/);
  assert.equal(r.stdout, '');
}

describe('fanin --help, <command> --help and --version', () => {
  it('--help and -h print the commands and exit 0; no command prints them to stderr and exits 2', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, flag);
      for (const command of Object.keys(COMMANDS))
        assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'), `${flag} lists ${command}`);
    }
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /usage: fanin <command>/);
  });

  it("<command> --help prints that command's own options, and only those", async () => {
    for (const [command, spec] of Object.entries(COMMANDS)) {
      for (const flag of ['--help', '-h']) {
        const r = await runCli([command, flag]);
        assert.equal(r.code, 0, `${command} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^usage: fanin ${command}`), command);
        const listed = [...r.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
        assert.deepEqual(
          listed.sort(),
          Object.keys(spec.options)
            .map((o) => `--${o}`)
            .sort(),
          `${command} lists its own options`,
        );
      }
    }
    const viaHelp = await runCli(['help', 'up']);
    assert.equal(viaHelp.code, 0);
    assert.match(viaHelp.stdout, /--port-offset N/);
  });

  it("--version prints package.json's version", async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), VERSION);
  });

  const packDir = mkdtempSync(join(tmpdir(), 'fanin-pack-'));
  after(() => rmSync(packDir, { recursive: true, force: true }));

  it('--version and --help work from an installed npm tarball', async () => {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    const modules = join(packDir, 'node_modules');
    mkdirSync(modules);
    execFileSync('tar', ['xzf', join(packDir, tarball), '-C', modules]);
    renameSync(join(modules, 'package'), join(modules, 'fanin'));
    // The installed package's dependencies, as npm would put them next to it.
    for (const dep of readdirSync(join(ROOT, 'node_modules')))
      if (!dep.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep));
    const installed = join(modules, 'fanin', 'dist', 'cli', 'fanin.js');
    const version = await runCli(['--version'], {}, 30_000, installed);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const help = await runCli(['validate', '--help'], {}, 30_000, installed);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /usage: fanin validate/);
  });

  it('fanin settings still lists every setting', async () => {
    const r = await runCli(['settings']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^namespace +FANIN_NAMESPACE +"fanin"/m);
    assert.match(r.stdout, /^receiver\.syslogPort +FANIN_RECEIVER_SYSLOG_PORT +5514/m);
  });
});

describe('options are checked per command (exit 2, one line, no stack trace)', () => {
  it("an unknown option is named, with the command's usage", async () => {
    assertCleanUsageError(await runCli(['top', '--bogus']), /unknown option '--bogus'/i, 'top');
    // An option of another command is unknown here too.
    assertCleanUsageError(await runCli(['worker', '--port-offset', '5']), /unknown option '--port-offset'/i, 'worker');
    assertCleanUsageError(await runCli(['settings', '--to', 'x:1']), /unknown option '--to'/i, 'settings');
  });

  it('an unknown command is named', async () => {
    const r = await runCli(['recevier']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^fanin: unknown command "recevier"/);
  });

  it('--port-offset must be a whole number that keeps every port at most 65535 (never NaN ports)', async () => {
    for (const bad of ['abc', '-5', '1.5', '0x10', '1e3', '', '41311']) {
      const up = await runCli(['up', `--port-offset=${bad}`]);
      assertCleanUsageError(up, /^fanin: --port-offset: a whole number from 0 to 41310/, 'up');
      assert.doesNotMatch(up.stdout, /local fleet/);
    }
    assertCleanUsageError(
      await runCli(['top', '--once', '--port-offset', 'abc']),
      /^fanin: --port-offset: a whole number from 0 to 55914/,
      'top',
    );
  });

  it('--workers, send --count, --rate, --to and --framing are checked', async () => {
    for (const bad of ['0', '10', 'two', '-1'])
      assertCleanUsageError(
        await runCli(['up', `--workers=${bad}`]),
        /^fanin: --workers: a whole number from 1 to 9/,
        'up',
      );
    const to = ['--to', '127.0.0.1:9'];
    for (const bad of ['abc', '0', '-3', '2.5'])
      assertCleanUsageError(
        await runCli(['send', ...to, `--count=${bad}`]),
        /^fanin: --count: a whole number from 1/,
        'send',
      );
    for (const bad of ['abc', '-1', 'Infinity'])
      assertCleanUsageError(await runCli(['send', ...to, `--rate=${bad}`]), /^fanin: --rate: a number from 0/, 'send');
    for (const bad of ['localhost', 'host:abc', 'host:70000', 'host:0', ':514']) {
      assertCleanUsageError(await runCli(['send', '--to', bad]), /^fanin: --to: ".*" is not host:port/, 'send');
    }
    assertCleanUsageError(await runCli(['send']), /^fanin: --to: give host:port/, 'send');
    assertCleanUsageError(
      await runCli(['send', ...to, '--framing', 'zmodem']),
      /^fanin: --framing: one of udp, tcp, octet/,
      'send',
    );
    assertCleanUsageError(await runCli(['send', ...to, '--count', '-1']), /--count.*starts with "-"/, 'send');
  });

  it('send to a target that refuses says so in one line (exit 1), without a stack trace', async () => {
    const closed = await freePort();
    const r = await runCli(['send', '--to', `127.0.0.1:${closed}`, '--framing', 'tcp', '--count', '1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `fanin: connect ECONNREFUSED 127.0.0.1:${closed}\n`);
  });

  it('the fleet does not restart a member that exited with a configuration error or a port it cannot bind (78)', () => {
    assert.equal(restartsAfter(78, true), false);
    assert.equal(restartsAfter(1, true), true);
    assert.equal(restartsAfter(null, true), true);
    assert.equal(restartsAfter(1, false), false);
  });
});
