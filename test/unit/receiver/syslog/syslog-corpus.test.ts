import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslog } from '../../../../receiver/syslog/parse-syslog.js';
import { decodeMsg } from '../../../../receiver/syslog/line-state.js';
import {
  CORPUS_LOCAL_TZ,
  entryBytes,
  entryOptions,
  loadCorpus,
  type CorpusEntry,
} from '../../../../testkit/syslog-corpus.js';

const corpus = loadCorpus();

/** Parses with the entry's options; an entry for the process zone runs with TZ set to CORPUS_LOCAL_TZ. */
function parseEntry(entry: CorpusEntry) {
  const options = entryOptions(entry);
  if (options.rfc3164TimeZone !== 'local') return parseSyslog(entryBytes(entry), options);
  const saved = process.env.TZ;
  process.env.TZ = CORPUS_LOCAL_TZ;
  try {
    return parseSyslog(entryBytes(entry), options);
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

describe('syslog corpus: every real-world line parses to its expected fields', () => {
  corpus.forEach((entry, i) => {
    const label = (entry.line ?? `base64:${entry.lineBase64 ?? ''}`).slice(0, 70);
    it(`#${i} ${entry.vendor}: ${label}`, () => {
      const r = parseEntry(entry);
      if (entry.expect.format === 'raw') {
        const want = entry.expect;
        assert.equal(r.ok, false, 'expected the line to travel raw');
        if (!r.ok) assert.equal(r.error.code, want.error, r.error.message);
        return;
      }
      if (!r.ok) assert.fail(`expected a parse, got ${r.error.code}: ${r.error.message}`);
      const { structuredData, ...fields } = entry.expect;
      assert.deepEqual(r.message, { ...fields, structuredData: structuredData ?? null });

      // Nothing invented, nothing lost: MSG is the tail of the text, and header fields are text from the line.
      const bytes = entryBytes(entry);
      const text = bytes.toString('utf8');
      const afterPri = decodeMsg(bytes, text.startsWith('<') ? text.indexOf('>') + 1 : 0);
      assert.ok(afterPri.endsWith(r.message.message), 'MSG is a tail of the text after PRI');
      for (const field of [r.message.hostname, r.message.appName, r.message.procId, r.message.msgId]) {
        if (field !== null) assert.ok(text.includes(field), `${field} comes from the line`);
      }
    });
  });

  it('holds at least 200 lines from at least 25 senders, and covers raw lines, RFC 5424 and RFC 3164', () => {
    const vendors = new Set(corpus.map((e) => e.vendor));
    const formats = new Set(corpus.map((e) => e.expect.format));
    assert.ok(corpus.length >= 200, `${corpus.length} lines`);
    assert.ok(vendors.size >= 25, `${vendors.size} senders`);
    assert.deepEqual([...formats].sort(), ['raw', 'rfc3164', 'rfc5424']);
    for (const e of corpus) assert.ok(e.source.length > 0 && e.vendor.length > 0, 'every line names its source');
  });
});
