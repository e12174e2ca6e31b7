import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../shared/config/config-error.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { settings } from '../../../shared/config/settings.js';
import { expandSpecifiers, readEnvironmentFile, UnitFile } from '../../support/systemd-unit-file.js';

const DIR = fileURLToPath(new URL('../../../../deploy/systemd/', import.meta.url));
const unit = (name: string) => UnitFile.read(join(DIR, name));
const SERVICES = {
  receiver: {
    file: 'fanin-receiver@.service',
    config: '/etc/fanin/receiver-%i.json',
    example: 'receiver-a.json',
    instance: 'a',
  },
  worker: { file: 'fanin-worker@.service', config: '/etc/fanin/worker.json', example: 'worker.json', instance: '1' },
  uploader: {
    file: 'fanin-uploader.service',
    config: '/etc/fanin/uploader.json',
    example: 'uploader.json',
    instance: '',
  },
} as const;
type Role = keyof typeof SERVICES;
const ROLES = Object.keys(SERVICES) as Role[];

/** The sandbox every fanin service keeps; a directive that goes missing or loosens fails here, not in production. */
const HARDENING: Record<string, string> = {
  User: 'fanin',
  Group: 'fanin',
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  PrivateMounts: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  ProtectClock: 'yes',
  ProtectHostname: 'yes',
  ProtectProc: 'invisible',
  RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
  RestrictNamespaces: 'yes',
  RestrictRealtime: 'yes',
  RestrictSUIDSGID: 'yes',
  LockPersonality: 'yes',
  RemoveIPC: 'yes',
  SystemCallArchitectures: 'native',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  UMask: '0027',
  Restart: 'on-failure',
  RestartPreventExitStatus: '78',
  KillSignal: 'SIGTERM',
  EnvironmentFile: '-/etc/fanin/fanin.env',
};

/** Every setting a role's unit would run with on a host: the example JSON, the example fanin.env, the unit's own. */
function configOf(role: Role, instance: string = SERVICES[role].instance) {
  const u = unit(SERVICES[role].file);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(u.environment())) env[name] = expandSpecifiers(value, instance);
  // As systemd does it: EnvironmentFile= outranks Environment=.
  Object.assign(env, readEnvironmentFile(join(DIR, 'etc-fanin/fanin.env')));
  return loadConfig({ env, file: join(DIR, 'etc-fanin', SERVICES[role].example) });
}

function seconds(span: string): number {
  const m = /^(\d+)(s|min)?$/.exec(span);
  assert.ok(m, `a time span fanin's units use (N, Ns or Nmin): ${span}`);
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
}

describe('systemd units: settings', () => {
  for (const role of ROLES) {
    const { file, config } = SERVICES[role];
    it(`${file}: the full sandbox, and no restart loop on a configuration error (exit 78)`, () => {
      const u = unit(file);
      for (const [key, value] of Object.entries(HARDENING))
        assert.equal(u.last('Service', key), value, `${file}: ${key}=${value}`);
      // V8's JIT needs pages it can make executable; the unit says so instead of setting it.
      assert.equal(u.last('Service', 'MemoryDenyWriteExecute'), 'no');
      assert.equal(u.values('Service', 'DynamicUser').length, 0, 'a fixed user: state and /etc/fanin are owned by it');
      // RestartPreventExitStatus= does not apply to ExecStartPre=: a validate step there would restart in a loop.
      assert.deepEqual(u.values('Service', 'ExecStartPre'), []);
      assert.ok(Number(u.last('Service', 'LimitNOFILE')) >= settings.maxConnections.default * 2);
      assert.equal(u.last('Install', 'WantedBy'), 'fanin.target');
      assert.equal(u.last('Unit', 'PartOf'), 'fanin.target');
    });

    it(`${file}: runs the installed binary with --config ${config}`, () => {
      assert.equal(unit(file).last('Service', 'ExecStart'), `/opt/fanin/bin/fanin ${role} --config ${config}`);
    });

    it(`${file}: waits for the drain longer than drainTimeoutMs before SIGKILL`, () => {
      const stop = unit(file).last('Service', 'TimeoutStopSec');
      assert.ok(stop);
      assert.ok(seconds(stop) * 1000 >= settings.drainTimeoutMs.default + 10_000, `TimeoutStopSec=${stop}`);
    });

    it(`${file}: every FANIN_ variable it sets is a setting, and every directory it names is a StateDirectory`, () => {
      const u = unit(file);
      const known = new Set(Object.values(settings).map((s) => s.env));
      const stateDirs = u
        .values('Service', 'StateDirectory')
        .flatMap((v) => v.split(/\s+/))
        .filter(Boolean)
        .map((d) => `%S/${d}`);
      for (const [name, value] of Object.entries(u.environment())) {
        if (!name.startsWith('FANIN_')) {
          assert.ok(['NODE_ENV', 'NODE_OPTIONS'].includes(name), name);
          continue;
        }
        assert.ok(known.has(name), `${name} is no fanin setting: loadConfig would ignore it`);
        // Under ProtectSystem=strict only the state directories are writable.
        if (name.endsWith('_DIR'))
          assert.ok(stateDirs.includes(value), `${name}=${value} is not one of ${stateDirs.join(' ')}`);
      }
    });

    it(`${file}: the example configuration, fanin.env and the unit's environment load without a configuration error`, () => {
      const c = configOf(role);
      assert.equal(c.amqpUrl, 'amqp://fanin:CHANGE-ME@rabbitmq.example.net:5672');
    });
  }

  it('fanin.env sets nothing a unit sets (it would outrank the unit: every receiver would get one id)', () => {
    const shared = Object.keys(readEnvironmentFile(join(DIR, 'etc-fanin/fanin.env')));
    for (const role of ROLES) {
      const own = Object.keys(unit(SERVICES[role].file).environment());
      assert.deepEqual(
        shared.filter((n) => own.includes(n)),
        [],
        SERVICES[role].file,
      );
    }
  });

  it('the receiver takes its id from the instance and spools in its own state directory', () => {
    const c = configOf('receiver', 'edge-2');
    assert.equal(c.receiverId, 'edge-2');
    assert.equal(c.spoolDir, '/var/lib/fanin/receiver-edge-2');
    assert.equal(unit(SERVICES.receiver.file).last('Service', 'StateDirectory'), 'fanin/receiver-%i');
  });

  it('the uploader writes events and refused batches under /var/lib/fanin', () => {
    const c = configOf('uploader');
    assert.equal(c.fileSinkDir, '/var/lib/fanin/out');
    assert.equal(c.secondaryDir, '/var/lib/fanin/secondary');
  });

  it('workers 1..9 get ids w1..w9 and metrics ports 9611..9619; instance 10 is a configuration error, not a clash', () => {
    for (let n = 1; n <= 9; n++) {
      const c = configOf('worker', String(n));
      assert.equal(c.workerId, `w${n}`);
      assert.equal(c.metricsPort, 9610 + n);
    }
    assert.throws(() => configOf('worker', '10'), ConfigError);
  });

  it('one host running every role serves metrics on distinct ports', () => {
    const ports = [
      configOf('receiver').metricsPort,
      configOf('uploader').metricsPort,
      ...[1, 2, 3, 4].map((n) => configOf('worker', String(n)).metricsPort),
    ];
    assert.equal(new Set(ports).size, ports.length, ports.join(' '));
  });

  it('reload sends SIGHUP to the receiver and the uploader; a worker has no file to reopen and no ExecReload', () => {
    assert.equal(unit(SERVICES.receiver.file).last('Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(unit(SERVICES.uploader.file).last('Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(unit(SERVICES.worker.file).last('Service', 'ExecReload'), undefined);
  });

  it('the privileged-port drop-in grants CAP_NET_BIND_SERVICE and nothing else', () => {
    const d = UnitFile.read(join(DIR, 'examples/fanin-receiver@.service.d/privileged-port.conf'));
    assert.equal(d.last('Service', 'CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(d.last('Service', 'AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  });
});
