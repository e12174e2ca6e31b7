import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { decode, decodeMulti, ExtData } from '@msgpack/msgpack';
import { ConfigError } from '../../../../shared/config/config-error.js';
import {
  buildChunks,
  chunkIdFor,
  parseIsoTime,
  recordOf,
  REJECTED_TAG,
} from '../../../../uploader/forward-sink/forward-entries.js';
import { buildPing, checkPong, parseHelo } from '../../../../uploader/forward-sink/forward-handshake.js';
import { encodePackedForward } from '../../../../uploader/forward-sink/forward-message.js';
import {
  forwardSinkOptionsFromConfig,
  parseServerList,
  type ForwardSinkSettings,
} from '../../../../uploader/forward-sink/forward-sink-config.js';
import { buildRotation, NodeHealth } from '../../../../uploader/forward-sink/node-health.js';
import { batchOf, forwardEnvelope, sinkSettings, syslogEnvelope } from '../../../support/forward-fixtures.js';

const settings = (over: Partial<ForwardSinkSettings> = {}) =>
  sinkSettings('127.0.0.1:24224', { forwardSinkSelfHostname: '', ...over });

describe('forward sink: configuration', () => {
  it('parses host:port[:weight][:standby] lists, IPv6 in brackets', () => {
    const problems: string[] = [];
    const servers = parseServerList('agg1:24224, agg2:24225:20, [::1]:24226:standby:5', problems);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      servers.map((s) => [s.host, s.port, s.weight, s.standby, s.label]),
      [
        ['agg1', 24224, 60, false, 'agg1:24224'],
        ['agg2', 24225, 20, false, 'agg2:24225'],
        ['::1', 24226, 5, true, '[::1]:24226'],
      ],
    );
  });

  it('names the key of every bad server entry', () => {
    assert.throws(
      () =>
        forwardSinkOptionsFromConfig(settings({ forwardSinkServers: 'agg1, agg2:99999, agg3:1:heavy, agg4:2,agg4:2' })),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 4);
        assert.ok(
          err.problems.every((p) => p.startsWith('uploader.forwardSink.servers (FANIN_UPLOADER_FORWARD_SINK_SERVERS)')),
        );
        return true;
      },
    );
    assert.throws(() => forwardSinkOptionsFromConfig(settings({ forwardSinkServers: '' })), /at least one server/);
    assert.throws(
      () => forwardSinkOptionsFromConfig(settings({ forwardSinkUsername: 'u' })),
      /needs uploader\.forwardSink\.sharedKey/,
    );
  });

  it('has a handshake only with a shared key, and fills selfHostname', () => {
    assert.equal(forwardSinkOptionsFromConfig(settings()).auth, null);
    const o = forwardSinkOptionsFromConfig(settings({ forwardSinkSharedKey: 'k' }));
    assert.ok(o.auth && o.auth.selfHostname.length > 0);
    assert.equal(forwardSinkOptionsFromConfig(settings({ forwardSinkIdKey: '' })).idKey, null);
  });
});

describe('forward sink: entries', () => {
  it('keeps all nine fraction digits of the event time', () => {
    assert.deepEqual(parseIsoTime('2026-03-01T10:20:30.000000001Z'), { seconds: 1772360430, nanoseconds: 1 });
    assert.deepEqual(parseIsoTime('2026-03-01T10:20:30.5+01:00'), { seconds: 1772356830, nanoseconds: 500_000_000 });
    assert.deepEqual(parseIsoTime('2026-03-01T10:20:30Z'), { seconds: 1772360430, nanoseconds: 0 });
    assert.equal(parseIsoTime('1969-12-31T23:59:59Z'), null);
    assert.equal(parseIsoTime('yesterday'), null);
  });

  it('builds in_syslog-like records for syslog and keeps Forward records, adding the event id', () => {
    assert.deepEqual(recordOf(syslogEnvelope(), 'k-1', 'fanin_id'), {
      host: 'web1',
      ident: 'sshd',
      pid: '4242',
      msgid: 'ID47',
      message: 'login failed',
      facility: 'auth',
      severity: 'warn',
      structured_data: { 'ex@1': { a: '1' } },
      format: 'rfc5424',
      source_address: '10.0.0.7',
      fanin_id: 'k-1',
    });
    const rfc3164 = syslogEnvelope({ format: 'rfc3164', msg_id: null, structured_data: null, proc_id: null });
    assert.deepEqual(Object.keys(recordOf(rfc3164, 'x', null)), [
      'host',
      'ident',
      'message',
      'facility',
      'severity',
      'format',
      'source_address',
    ]);
    const record = { log: 'hello', nested: { n: 1 } };
    assert.deepEqual(recordOf(forwardEnvelope(record), 'k-2', 'fanin_id'), {
      log: 'hello',
      nested: { n: 1 },
      fanin_id: 'k-2',
    });
    assert.deepEqual(record, { log: 'hello', nested: { n: 1 } }, 'the envelope record is not mutated');
    assert.deepEqual(
      recordOf(
        syslogEnvelope({ format: 'raw', tag: 'syslog.raw', message: '<x', parse_error: 'E: bad' }),
        'r',
        'fanin_id',
      ),
      { message: '<x', parse_error: 'E: bad', source_address: '10.0.0.7', fanin_id: 'r' },
    );
  });

  it('makes one chunk per batch and tag, with ids that only depend on the tag and event ids', () => {
    const b1 = batchOf('r:1', [
      ['e1', syslogEnvelope()],
      ['e2', forwardEnvelope({ a: 1 })],
      ['e3', syslogEnvelope({ message: 'again' })],
    ]);
    const b2 = batchOf('r:2', [
      ['e4', forwardEnvelope({ a: 2 })],
      ['e5', Uint8Array.from([0xc1])],
    ]);
    const chunks = buildChunks([b1, b2], 'fanin_id');
    assert.deepEqual(
      chunks.map((c) => [c.tag, c.count, c.rejected]),
      [
        ['syslog.auth.warn', 2, 0],
        ['app.web', 1, 0],
        ['app.web', 1, 0],
        [REJECTED_TAG, 1, 1],
      ],
    );
    assert.equal(chunks[0]!.chunkId, chunkIdFor('syslog.auth.warn', ['e1', 'e3']));
    assert.equal(Buffer.from(chunks[0]!.chunkId, 'base64').length, 16);
    assert.deepEqual(
      buildChunks([b2], 'fanin_id').map((c) => c.chunkId),
      chunks.slice(2).map((c) => c.chunkId),
      'a batch gathered with different neighbours keeps its chunk ids',
    );
    assert.notEqual(chunkIdFor('app.web', ['e2']), chunkIdFor('app.other', ['e2']));
    const entries = [...decodeMulti(chunks[0]!.entries)] as [ExtData, Record<string, unknown>][];
    assert.equal(entries.length, 2);
    assert.equal(entries[0]![0].type, 0);
    const t = Buffer.from(entries[0]![0].data as Uint8Array);
    assert.deepEqual([t.readUInt32BE(0), t.readUInt32BE(4)], [1772360430, 123_456_000]);
    const rejected = [...decodeMulti(chunks[3]!.entries)][0] as [ExtData, Record<string, unknown>];
    assert.equal(rejected[1].fanin_id, 'e5');
    assert.equal(rejected[1].body_base64, 'wQ==');
  });

  it('falls back to the receipt time when the sender gave none', () => {
    const [chunk] = buildChunks(
      [batchOf('r:3', [['e1', syslogEnvelope({ time: null, received_at: 1772360431250 })]])],
      null,
    );
    const [time] = [...decodeMulti(chunk!.entries)][0] as [ExtData];
    const t = Buffer.from(time.data as Uint8Array);
    assert.deepEqual([t.readUInt32BE(0), t.readUInt32BE(4)], [1772360431, 250_000_000]);
  });
});

describe('forward sink: PackedForward message', () => {
  const [chunk] = buildChunks(
    [
      batchOf('r:1', [
        ['e1', forwardEnvelope({ a: 1 })],
        ['e2', forwardEnvelope({ a: 2 })],
      ]),
    ],
    'fanin_id',
  );

  it('is [tag, bin entries, {size, chunk}]', async () => {
    const bytes = await encodePackedForward(chunk!, { compress: 'text', requireAck: true });
    assert.equal(bytes[0], 0x93);
    const [tag, entries, option] = decode(bytes) as [string, Uint8Array, Record<string, unknown>];
    assert.equal(tag, 'app.web');
    assert.ok(entries instanceof Uint8Array);
    assert.deepEqual(Buffer.from(entries), chunk!.entries);
    assert.deepEqual(option, { size: 2, chunk: chunk!.chunkId });
    const noAck = decode(await encodePackedForward(chunk!, { compress: 'text', requireAck: false })) as unknown[];
    assert.deepEqual(noAck[2], { size: 2 }, 'no chunk option when no ack is wanted (the server would answer one)');
  });

  it('is CompressedPackedForward with gzip', async () => {
    const [, entries, option] = decode(await encodePackedForward(chunk!, { compress: 'gzip', requireAck: true })) as [
      string,
      Uint8Array,
      Record<string, unknown>,
    ];
    assert.equal(option.compressed, 'gzip');
    assert.deepEqual(gunzipSync(entries), chunk!.entries);
  });
});

describe('forward sink: handshake digests', () => {
  const auth = { sharedKey: 'secret', selfHostname: 'fanin-up', username: 'alice', password: 'pw' };
  const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const sha = (...p: (string | Buffer)[]) => {
    const h = createHash('sha512');
    for (const x of p) h.update(x);
    return h.digest('hex');
  };

  it('reads HELO with a binary nonce and builds PING as fluentd does', () => {
    const helo = parseHelo(['HELO', { nonce, auth: '', keepalive: true }]);
    assert.ok(helo);
    assert.deepEqual(buildPing(helo, auth, 'salt'), [
      'PING',
      'fanin-up',
      'salt',
      sha('salt', 'fanin-up', nonce, 'secret'),
      '',
      '',
    ]);
    const withUsers = parseHelo(['HELO', { nonce, auth: Buffer.from('usersalt') }])!;
    assert.equal(withUsers.keepalive, true);
    assert.deepEqual(buildPing(withUsers, auth, 'salt').slice(4), ['alice', sha('usersalt', 'alice', 'pw')]);
    assert.equal(parseHelo(['HELO', { nonce, keepalive: false }])!.keepalive, false);
    assert.equal(parseHelo(['PONG', {}]), null);
  });

  it('accepts only a PONG whose digest proves the server knows the key', () => {
    const helo = parseHelo(['HELO', { nonce, auth: '' }])!;
    const good = ['PONG', true, '', 'aggregator', sha('salt', 'aggregator', nonce, 'secret')];
    assert.deepEqual(checkPong(good, helo, auth, 'salt'), { ok: true });
    assert.match(
      String(
        (
          checkPong(
            ['PONG', true, '', 'aggregator', sha('salt', 'aggregator', nonce, 'other')],
            helo,
            auth,
            'salt',
          ) as { reason: string }
        ).reason,
      ),
      /shared key mismatch/,
    );
    assert.match(
      String(
        (checkPong(['PONG', false, 'shared_key mismatch', 'aggregator', ''], helo, auth, 'salt') as { reason: string })
          .reason,
      ),
      /authentication failed: shared_key mismatch/,
    );
    assert.match(
      String(
        (
          checkPong(['PONG', true, '', 'fanin-up', sha('salt', 'fanin-up', nonce, 'secret')], helo, auth, 'salt') as {
            reason: string;
          }
        ).reason,
      ),
      /same hostname/,
    );
    assert.equal(checkPong(['PONG', true], helo, auth, 'salt').ok, false);
  });
});

describe('forward sink: failure detection and rotation', () => {
  it('goes down after consecutive heartbeat failures or one failed send, up after consecutive successes', () => {
    const h = new NodeHealth(3, 2);
    assert.equal(h.heartbeatFailed(), false);
    assert.equal(h.heartbeatFailed(), false);
    assert.equal(h.heartbeatSucceeded(), false, 'a success resets the failure count');
    h.heartbeatFailed();
    h.heartbeatFailed();
    assert.equal(h.heartbeatFailed(), true);
    assert.equal(h.up, false);
    assert.equal(h.heartbeatSucceeded(), false);
    assert.equal(h.heartbeatSucceeded(), true);
    assert.equal(h.up, true);
    assert.equal(h.sendFailed(), true);
    assert.equal(h.up, false);
    const untracked = new NodeHealth(1, 1, false);
    assert.equal(untracked.sendFailed(), false);
    assert.equal(untracked.up, true, 'without heartbeats nothing could bring a server back, so it never goes down');
  });

  it('spreads by weight, brings standby servers in for lost weight only', () => {
    const node = (name: string, weight: number, standby = false, up = true) => ({ name, weight, standby, up });
    const count = (r: { name: string }[]) =>
      r.reduce<Record<string, number>>((m, n) => ({ ...m, [n.name]: (m[n.name] ?? 0) + 1 }), {});
    const a = node('a', 20);
    const b = node('b', 60);
    const s = node('s', 60, true);
    const all = buildRotation([a, b, s], 7);
    assert.deepEqual(count(all), { a: 3, b: 9 }, 'weights 20:60 (gcd 20 → 1:3), repeated to fill 6 slots per server');
    assert.deepEqual(buildRotation([a, b, s], 7), all, 'same seed, same order');
    const bDown = buildRotation([a, { ...b, up: false }, s], 7);
    assert.deepEqual(count(bDown), { a: 3, s: 9 });
    assert.deepEqual(
      buildRotation(
        [
          { ...a, up: false },
          { ...b, up: false },
          { ...s, up: false },
        ],
        7,
      ),
      [],
    );
  });
});
