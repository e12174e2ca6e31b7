import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from '../../../../shared/config/config-error.js';
import { loadConfig } from '../../../../shared/config/load-config.js';
import { createSinks } from '../../../../uploader/create-sinks.js';
import { resolveSinkPlans } from '../../../../uploader/sink-plan.js';
import { SyslogSendError } from '../../../../uploader/syslog-sink/syslog-errors.js';
import { parseServers, syslogSinkOptionsFromSettings } from '../../../../uploader/syslog-sink/syslog-sink-config.js';
import { createSyslogSinkMetrics } from '../../../../uploader/syslog-sink/syslog-sink-metrics.js';
import { SyslogServerPool, type SyslogServerNode } from '../../../../uploader/syslog-sink/syslog-server-pool.js';
import { SyslogSink } from '../../../../uploader/syslog-sink/syslog-sink.js';
import { syslogSinkSettings } from '../../../support/syslog-sink-fixtures.js';

/** The syslog sink's configuration, its place in the uploader, and the order it tries collectors in (no sockets). */
describe('syslog sink: configuration', () => {
  it('parses host:port lists, IPv6 in brackets, and names the key of every bad entry', () => {
    const problems: string[] = [];
    assert.deepEqual(
      parseServers('a:514, [::1]:6514', 'k', problems).map((s) => s.label),
      ['a:514', '[::1]:6514'],
    );
    parseServers('a, b:0, c:1,c:1', 'k', problems);
    assert.equal(problems.length, 3);
  });

  it('refuses a client certificate without its key, TLS files on another transport, unreadable files', () => {
    assert.throws(
      () =>
        syslogSinkOptionsFromSettings(
          syslogSinkSettings({
            syslogSinkServers: 'h:1',
            syslogSinkTransport: 'tls',
            syslogSinkTlsCertFile: '/nonexistent/c.pem',
          }),
        ),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.problems.some((p) => p.includes('needs its key')));
        assert.ok(err.problems.some((p) => p.includes('cannot read /nonexistent/c.pem')));
        return true;
      },
    );
    assert.throws(
      () => syslogSinkOptionsFromSettings(syslogSinkSettings({ syslogSinkServers: 'h:1', syslogSinkTlsCaFile: '/x' })),
      /transport is tcp/,
    );
    assert.throws(
      () =>
        syslogSinkOptionsFromSettings(
          syslogSinkSettings({
            syslogSinkServers: 'h:1',
            syslogSinkTransport: 'tls',
            syslogSinkFraming: 'non-transparent',
          }),
        ),
      /uploader\.syslogSink\.framing: RFC 5425 allows only octet-counting/,
    );
    const o = syslogSinkOptionsFromSettings(
      syslogSinkSettings({ syslogSinkServers: 'h:1', syslogSinkFacility: 'local0', syslogSinkSeverity: 'info' }),
    );
    assert.equal(o.payload.pri, 134);
    assert.equal(o.tls, null);
  });
});

describe('syslog sink: wiring into the uploader', () => {
  it('a named syslog sink reads its options from its definition, over the uploader.syslogSink block; errors name the key', async () => {
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'siem,syslog',
        FANIN_UPLOADER_SYSLOG_SINK_SERVERS: 'block:514',
        FANIN_UPLOADER_SYSLOG_SINK_APP_NAME: 'from-block',
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          siem: { type: 'syslog', servers: 'a:6514,b:6514', transport: 'udp', rfc3164Id: 'wrap' },
        }),
      },
    });
    const [siem, plain] = resolveSinkPlans(config);
    const registry = new Registry();
    const sinks = await createSinks([siem!, plain!], 'u1', registry, pino({ level: 'silent' }));
    assert.deepEqual(
      sinks.map((s) => [s.name, s instanceof SyslogSink]),
      [
        ['siem', true],
        ['syslog', true],
      ],
    );
    const options = syslogSinkOptionsFromSettings(siem!.settings);
    assert.deepEqual(
      [options.servers.map((s) => s.label), options.transport, options.payload.rfc3164Id, options.payload.appName],
      [['a:6514', 'b:6514'], 'udp', 'wrap', 'from-block'],
    );
    assert.deepEqual(
      syslogSinkOptionsFromSettings(plain!.settings).servers.map((s) => s.label),
      ['block:514'],
    );
    await Promise.all(sinks.map((s) => s.close()));
    const bad = loadConfig({
      env: {
        FANIN_SINKS: 'siem',
        FANIN_SINK_DEFINITIONS: JSON.stringify({ siem: { type: 'syslog', servers: 'nope' } }),
      },
    });
    await assert.rejects(
      createSinks(resolveSinkPlans(bad), 'u1', new Registry(), pino({ level: 'silent' })),
      (err) =>
        err instanceof ConfigError && err.problems.some((p) => p.startsWith('sinkDefinitions.siem.servers: "nope"')),
    );
  });
});

describe('syslog sink: the order collectors are tried in', () => {
  const options = syslogSinkOptionsFromSettings(
    syslogSinkSettings({
      syslogSinkServers: 'a:1,b:2',
      syslogSinkRetryInitialDelayMs: 1000,
      syslogSinkRetryMaxDelayMs: 1000,
    }),
  );
  const make = () => {
    const registry = new Registry();
    return {
      registry,
      pool: new SyslogServerPool(options, createSyslogSinkMetrics(registry), 'siem', pino({ level: 'silent' })),
    };
  };
  const refuse = (label: string, tried: string[]) => (node: SyslogServerNode) => {
    tried.push(node.label);
    return node.label === label || label === '*'
      ? Promise.reject(new SyslogSendError('SYSLOG_CONNECT_FAILED', 'refused'))
      : Promise.resolve();
  };

  it('fails over down the list, skips a collector in its backoff, and goes back to it after', async () => {
    const { registry, pool } = make();
    const tried: string[] = [];
    assert.equal((await pool.deliver(refuse('a:1', tried), () => 0)).label, 'b:2');
    assert.equal((await pool.deliver(refuse('none', tried), () => 10)).label, 'b:2');
    const retryAt = pool.nodes[0]!.retryAt;
    assert.ok(retryAt >= 0 && retryAt <= 1000);
    assert.equal((await pool.deliver(refuse('none', tried), () => 1001)).label, 'a:1');
    assert.deepEqual(tried, ['a:1', 'b:2', 'b:2', 'a:1']);
    const failovers = (await registry.getSingleMetric('fanin_uploader_syslog_failovers_total')!.get()).values;
    assert.deepEqual(
      failovers.map((v) => [v.labels.server, v.value]),
      [['a:1', 1]],
    );
    pool.close();
  });

  it('when every collector waits, tries the one whose wait ends first; when all fail, throws the last error', async () => {
    const { pool } = make();
    const tried: string[] = [];
    await assert.rejects(
      pool.deliver(refuse('*', tried), () => 0),
      (err) => err instanceof SyslogSendError && err.disposition === 'retry',
    );
    assert.deepEqual(tried, ['a:1', 'b:2']);
    pool.nodes[0]!.retryAt = 500;
    pool.nodes[1]!.retryAt = 300;
    assert.equal((await pool.deliver(refuse('none', tried), () => 100)).label, 'b:2');
    assert.deepEqual(tried.slice(2), ['b:2']);
    pool.close();
  });
});

describe('syslog sink: the SD-ID setting', () => {
  it('takes name@<enterprise number> within 32 characters and refuses anything RFC 5424 does not allow', () => {
    assert.equal(
      loadConfig({ env: { FANIN_UPLOADER_SYSLOG_SINK_ID_SD_ID: 'my-org.id@123456' } }).syslogSinkIdSdId,
      'my-org.id@123456',
    );
    assert.equal(loadConfig({ env: {} }).syslogSinkIdSdId, 'fanin@32473');
    for (const bad of ['fanin', 'fa nin@1', 'a=b@1', 'a]b@1', 'x@1@2', `${'a'.repeat(30)}@12`]) {
      assert.throws(
        () => loadConfig({ env: { FANIN_UPLOADER_SYSLOG_SINK_ID_SD_ID: bad } }),
        /uploader\.syslogSink\.idSdId/,
        bad,
      );
    }
  });
});
