import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settings } from '../../../shared/config/settings.js';
import { defineSinkPlugin, settingsPrefix } from '../../../uploader/sink-plugin.js';
import { sinkPlugins, sinkTypes } from '../../../uploader/sink-registry.js';
import { setting } from '../../../shared/config/setting-spec.js';
import { z } from 'zod';

describe('sink registry', () => {
  it('lists each type once, and the types are what sinkDefinitions accepts', () => {
    assert.deepEqual(sinkTypes, ['file', 'forward', 'postgres', 'http', 'stdout', 'syslog']);
    assert.equal(new Set(sinkTypes).size, sinkTypes.length);
    assert.match(settings.sinkDefinitions.doc, /"type": "file\|forward\|postgres\|http\|stdout\|syslog"/);
  });

  it("puts every plug-in setting into the settings table under its type's prefix, and nothing else there", () => {
    const fromPlugins = new Set<string>();
    for (const plugin of sinkPlugins) {
      for (const [name, spec] of Object.entries(plugin.settings)) {
        assert.ok(spec.key.startsWith(settingsPrefix(plugin.type)), spec.key);
        assert.equal((settings as Record<string, unknown>)[name], spec);
        fromPlugins.add(spec.key);
      }
    }
    const sinkKeys = Object.values(settings)
      .map((s) => s.key)
      .filter((k) => /^uploader\.[a-z]+Sink\./.test(k));
    assert.deepEqual(new Set(sinkKeys), fromPlugins);
    assert.equal(fromPlugins.size, 61); // file 8, forward 19, postgres 9, http 7, stdout 0, syslog 18
  });

  it('refuses a plug-in whose settings stray outside its block', () => {
    assert.throws(
      () =>
        defineSinkPlugin({
          type: 'demo',
          settings: { demoSinkX: setting('uploader.fileSink.x', z.string(), '', 'x') },
          prepare: () => () => Promise.reject(new Error('never built')),
        }),
      /setting uploader\.fileSink\.x is outside uploader\.demoSink\.\*/,
    );
  });
});
