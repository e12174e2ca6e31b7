import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../../shared/config/config-error.js';
import { loadConfig } from '../../../../shared/config/load-config.js';

describe('configuration', () => {
  it('uses defaults, then the file, then the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-cfg-'));
    const file = join(dir, 'fanin.json');
    writeFileSync(
      file,
      JSON.stringify({ receiver: { id: 'fromfile', syslogPort: 7000 }, worker: { dedupWindowSeconds: 60 } }),
    );
    const c = loadConfig({ file, env: { FANIN_RECEIVER_SYSLOG_PORT: '7001', FANIN_SINKS: 'file, other' } });
    assert.equal(c.receiverId, 'fromfile');
    assert.equal(c.syslogPort, 7001);
    assert.equal(c.dedupWindowSeconds, 60);
    assert.equal(c.httpPort, 8888);
    assert.deepEqual(c.sinks, ['file', 'other']);
    assert.ok(Object.isFrozen(c));
  });

  it('names the key and the variable of every invalid setting', () => {
    try {
      loadConfig({
        env: {
          FANIN_RECEIVER_SYSLOG_PORT: '70000',
          FANIN_WORKER_DEDUP_PARTITIONS: 'many',
          FANIN_RECEIVER_HASH_SOURCE_ADDRESS: 'maybe',
        },
      });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /receiver\.syslogPort \(environment variable FANIN_RECEIVER_SYSLOG_PORT\)/);
      assert.match(err.message, /worker\.dedupPartitions/);
      assert.match(err.message, /receiver\.hashSourceAddress/);
      assert.equal(err.problems.length, 3);
    }
  });

  it('rejects unknown keys in the file (a typo must not be silently ignored)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanin-cfg-'));
    const file = join(dir, 'fanin.json');
    writeFileSync(file, JSON.stringify({ receiver: { syslogPrt: 1 } }));
    assert.throws(() => loadConfig({ file, env: {} }), /receiver\.syslogPrt: unknown key/);
  });
});
