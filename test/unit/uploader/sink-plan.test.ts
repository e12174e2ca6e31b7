import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from '../../../shared/config/config-error.js';
import { loadConfig } from '../../../shared/config/load-config.js';
import { createSinks } from '../../../uploader/create-sinks.js';
import { resolveSinkPlans, unusedSinkDefinitions } from '../../../uploader/sink-plan.js';

const log = pino({ level: 'silent' });

describe('named sinks', () => {
  it("keeps FANIN_SINKS=file,forward working: a type name uses its type's settings block", () => {
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'file,forward',
        FANIN_UPLOADER_FILE_SINK_DIR: '/tmp/x',
        FANIN_UPLOADER_FORWARD_SINK_SERVERS: '127.0.0.1:1',
        FANIN_UPLOADER_PREFETCH: '32',
        FANIN_UPLOADER_SECONDARY_DIR: 'sec',
      },
    });
    const [file, forward] = resolveSinkPlans(config);
    assert.equal(file!.name, 'file');
    assert.equal(file!.type, 'file');
    assert.equal(file!.settings.fileSinkDir, '/tmp/x');
    assert.equal(file!.prefetch, 32);
    assert.equal(file!.batchSize, 16);
    assert.equal(file!.secondaryDir, join('sec', 'file'));
    assert.equal(forward!.type, 'forward');
    assert.equal(forward!.settings.forwardSinkServers, '127.0.0.1:1');
    assert.equal(file!.keyOf('fileSinkDir'), 'uploader.fileSink.dir (FANIN_UPLOADER_FILE_SINK_DIR)');
  });

  it('reads definitions from the config file and from FANIN_SINK_DEFINITIONS; options default to the type block', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-sinkplan-'));
    const file = join(dir, 'fanin.json');
    writeFileSync(
      file,
      JSON.stringify({
        sinks: ['archive', 'pg', 'file'],
        uploader: { fileSink: { fsync: false, dir: 'data/out' } },
        sinkDefinitions: {
          archive: {
            type: 'file',
            dir: 'data/archive',
            gzip: true,
            maxBytes: 1048576,
            batchSize: 4,
            maxAttempts: 3,
            secondaryDir: '',
          },
          pg: {
            type: 'postgres',
            url: 'postgres://postgres@127.0.0.1/test',
            partitioning: 'daily',
            retentionDays: 30,
            prefetch: 128,
            flushIntervalMs: 50,
          },
          spare: { type: 'stdout' },
        },
      }),
    );
    const config = loadConfig({ file, env: {} });
    const plans = resolveSinkPlans(config);
    assert.deepEqual(
      plans.map((p) => [p.name, p.type]),
      [
        ['archive', 'file'],
        ['pg', 'postgres'],
        ['file', 'file'],
      ],
    );
    const [archive, pg, plain] = plans;
    assert.equal(archive!.settings.fileSinkDir, 'data/archive');
    assert.equal(archive!.settings.fileSinkFsync, false, 'inherited from uploader.fileSink');
    assert.equal(archive!.settings.fileSinkGzip, true);
    assert.equal(archive!.batchSize, 4);
    assert.equal(archive!.maxAttempts, 3);
    assert.equal(archive!.secondaryDir, null);
    assert.equal(archive!.keyOf('fileSinkGzip'), 'sinkDefinitions.archive.gzip');
    assert.equal(pg!.settings.postgresSinkPartitioning, 'daily');
    assert.equal(pg!.prefetch, 128);
    assert.equal(pg!.batchSize, 64);
    assert.equal(pg!.flushIntervalMs, 50);
    assert.equal(plain!.settings.fileSinkDir, 'data/out');
    assert.deepEqual(unusedSinkDefinitions(config), ['spare']);

    const fromEnv = loadConfig({ env: { FANIN_SINKS: 'out', FANIN_SINK_DEFINITIONS: '{"out":{"type":"stdout"}}' } });
    assert.deepEqual(
      resolveSinkPlans(fromEnv).map((p) => p.type),
      ['stdout'],
    );
  });

  it('names the key of every bad definition', () => {
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'a,b,nope,file',
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          a: { type: 'file', gzip: 'sometimes', colour: 'red' },
          b: { type: 'postgres', batchSize: 100, prefetch: 10 },
          file: { type: 'postgres' },
        }),
      },
    });
    try {
      resolveSinkPlans(config);
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /sinkDefinitions\.a\.gzip/);
      assert.match(err.message, /sinkDefinitions\.a\.colour: unknown option of a file sink \(known: prefetch, .*path/);
      assert.match(err.message, /sinkDefinitions\.b\.batchSize: 100 exceeds the prefetch/);
      assert.match(err.message, /unknown sink "nope"/);
      assert.match(err.message, /sinkDefinitions\.file\.type: a sink named after a type must be of that type/);
    }
    assert.throws(() => loadConfig({ env: { FANIN_SINK_DEFINITIONS: '{"x":{"type":"kafka"}}' } }), /sinkDefinitions/);
    assert.throws(() => loadConfig({ env: { FANIN_SINK_DEFINITIONS: '{not json' } }), /sinkDefinitions .*not JSON/);
  });

  it("validates every sink's options before building any", async () => {
    const registry = new Registry();
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'one,two,pg,web',
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          one: { type: 'file', dir: '/tmp/same', path: 'events.%Q.ndjson' },
          two: { type: 'file', dir: '/tmp/same' },
          pg: { type: 'postgres', retentionDays: 3 },
          web: { type: 'http', mode: 'bulk', url: 'ftp://x' },
        }),
      },
    });
    try {
      await createSinks(resolveSinkPlans(config), 'u1', registry, log);
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /sinkDefinitions\.one\.path: unsupported conversion %Q/);
      assert.match(err.message, /file sinks "one" and "two" would write the same directory/);
      assert.match(err.message, /sinkDefinitions\.pg\.retentionDays: retention drops daily partitions/);
      assert.match(err.message, /sinkDefinitions\.web\.url: expected an http/);
    }
  });

  it('builds one sink per name, named after it', async () => {
    const registry = new Registry();
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'file,archive,web,out',
        FANIN_UPLOADER_FILE_SINK_DIR: mkdtempSync(join(tmpdir(), 'fanin-sinkplan-')),
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          archive: { type: 'file', dir: mkdtempSync(join(tmpdir(), 'fanin-sinkplan-')) },
          web: { type: 'http', url: 'http://127.0.0.1:9/ingest' },
          out: { type: 'stdout' },
        }),
      },
    });
    const sinks = await createSinks(resolveSinkPlans(config), 'u1', registry, log);
    assert.deepEqual(
      sinks.map((s) => s.name),
      ['file', 'archive', 'web', 'out'],
    );
    for (const s of sinks) await s.close();
  });
  it('reads match, exclude and minSeverity per sink; without them a sink takes every event', () => {
    const config = loadConfig({
      env: {
        FANIN_SINKS: 'file,auth,web',
        FANIN_SINK_DEFINITIONS: JSON.stringify({
          auth: { type: 'file', dir: '/tmp/auth', match: 'syslog.auth.** syslog.authpriv.**' },
          web: {
            type: 'http',
            url: 'http://127.0.0.1:9/x',
            match: ['app.**', 'syslog.local0.*'],
            exclude: 'app.debug.**',
            minSeverity: 'warning',
          },
        }),
      },
    });
    const [file, auth, web] = resolveSinkPlans(config);
    assert.equal(file!.route.takesEverything, true);
    assert.equal(auth!.route.takesEverything, false);
    assert.ok(auth!.route.match.test('syslog.authpriv.info') && !auth!.route.match.test('syslog.kern.info'));
    assert.equal(auth!.route.exclude, null);
    assert.equal(web!.route.minSeverity, 4);
    assert.ok(web!.route.exclude!.test('app.debug.x'));
    assert.ok(web!.route.match.test('syslog.local0.info') && web!.route.match.test('app.a.b'));
    assert.equal(
      resolveSinkPlans(
        loadConfig({ env: { FANIN_SINKS: 'x', FANIN_SINK_DEFINITIONS: '{"x":{"type":"stdout","match":"**"}}' } }),
      )[0]!.route.takesEverything,
      true,
    );
  });

  it('names the key of a bad pattern, a bad severity and a misused uploader.unroutedSink', () => {
    const problems = (env: Record<string, string>) => {
      try {
        resolveSinkPlans(loadConfig({ env }));
        return '';
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
      }
    };
    const bad = problems({
      FANIN_SINKS: 'a,b',
      FANIN_SINK_DEFINITIONS: JSON.stringify({
        a: { type: 'file', dir: '/tmp/a', match: '{app,web', minSeverity: 'loud' },
        b: { type: 'file', dir: '/tmp/b', exclude: [], match: 5 },
      }),
    });
    assert.match(bad, /sinkDefinitions\.a\.match: unclosed \{ in "\{app,web"/);
    assert.match(bad, /sinkDefinitions\.a\.minSeverity: a syslog severity/);
    assert.match(bad, /sinkDefinitions\.b\.exclude: /);
    assert.match(bad, /sinkDefinitions\.b\.match: /);
    assert.match(
      problems({ FANIN_SINKS: 'file', FANIN_UPLOADER_UNROUTED_SINK: 'rest' }),
      /uploader\.unroutedSink \(FANIN_UPLOADER_UNROUTED_SINK\): "rest" is not a name in sinks/,
    );
    assert.match(
      problems({
        FANIN_SINKS: 'file,rest',
        FANIN_UPLOADER_UNROUTED_SINK: 'rest',
        FANIN_SINK_DEFINITIONS: JSON.stringify({ rest: { type: 'file', dir: '/tmp/rest', match: 'a.**' } }),
      }),
      /sinkDefinitions\.rest: the sink named by uploader\.unroutedSink takes the events no other sink takes/,
    );
    const [file, rest] = resolveSinkPlans(
      loadConfig({
        env: {
          FANIN_SINKS: 'file,rest',
          FANIN_UPLOADER_UNROUTED_SINK: 'rest',
          FANIN_SINK_DEFINITIONS: JSON.stringify({ rest: { type: 'file', dir: '/tmp/rest' } }),
        },
      }),
    );
    assert.equal(file!.takesUnrouted, false);
    assert.equal(rest!.takesUnrouted, true);
  });
});
