import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { ProcessedBatch } from '../../../shared/batch-codec.js';
import { createLogger } from '../../../shared/logger.js';
import { SyslogSendError } from '../../../uploader/syslog-sink/syslog-errors.js';
import { syslogSinkOptionsFromSettings } from '../../../uploader/syslog-sink/syslog-sink-config.js';
import type { SyslogSinkSettings } from '../../../uploader/syslog-sink/settings.js';
import { SyslogSink } from '../../../uploader/syslog-sink/syslog-sink.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { Rsyslogd, rsyslogMissing } from '../../support/rsyslogd.js';
import { waitFor } from '../../../testkit/services.js';
import { forwardEvent, processedBatch } from '../../../testkit/sink-fixtures.js';
import { SyslogNg, syslogNgMissing } from '../../support/syslog-ng.js';
import { syslogLineBatch, syslogSinkSettings } from '../../support/syslog-sink-fixtures.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certs.js';

/**
 * The syslog sink against real collectors, private instances on ports of their own: rsyslog (imtcp, imudp, gtls)
 * and syslog-ng (syslog() driver). Each collector writes every message it got, as it got it, to a file
 * (rsyslog %rawmsg%, syslog-ng ${RAWMSG}), followed by a separator that no test message holds; the test compares
 * those bytes with what the sink was meant to send.
 */
const log = createLogger('test', 'syslog-sink', 'silent');
const SEP = Buffer.from('<<END>>\n');

interface Case {
  readonly line: Buffer;
  readonly expected: (id: string) => Buffer;
}
const el = (id: string) => `[fanin@32473 id="${id}"]`;
const b = (s: string) => Buffer.from(s, 'utf8');

/** Received lines and what each must look like at the collector: the original, with the id element in RFC 5424 ones. */
function cases(tag: string): Case[] {
  const sd = `<165>1 2003-10-11T22:14:15.003+02:00 mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" note="q \\"x\\" \\] y"]`;
  const high = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x80, 0xe9]);
  return [
    { line: b(`${sd} ${tag} An application event`), expected: (id) => b(`${sd}${el(id)} ${tag} An application event`) },
    {
      line: b(`<13>1 2026-12-07T10:00:00.123456Z host-a app 1234 - - \u{feff}${tag} with a BOM`),
      expected: (id) => b(`<13>1 2026-12-07T10:00:00.123456Z host-a app 1234 - ${el(id)} \u{feff}${tag} with a BOM`),
    },
    {
      line: Buffer.concat([b(`<14>1 2026-12-07T10:00:01Z host-b app - - - ${tag} not UTF-8: `), high]),
      expected: (id) =>
        Buffer.concat([b(`<14>1 2026-12-07T10:00:01Z host-b app - - ${el(id)} ${tag} not UTF-8: `), high]),
    },
    {
      line: b(`<34>Oct 11 22:14:15 mymachine su: ${tag} 'su root' failed on /dev/pts/8`),
      expected: () => b(`<34>Oct 11 22:14:15 mymachine su: ${tag} 'su root' failed on /dev/pts/8`),
    },
    {
      line: Buffer.concat([b(`<30>Dec  7 10:00:00 host-c daemon[7]: ${tag} latin1 `), Buffer.from([0xe9, 0xe8])]),
      expected: () =>
        Buffer.concat([b(`<30>Dec  7 10:00:00 host-c daemon[7]: ${tag} latin1 `), Buffer.from([0xe9, 0xe8])]),
    },
  ];
}

/** Two batches: the received lines (raw kept) and three Forward events, which are rendered. */
function workload(tag: string): { batches: ProcessedBatch[]; expected: Buffer[] } {
  const list = cases(tag);
  const lines = syslogLineBatch(
    `${tag}-l`,
    list.map((c) => c.line),
  );
  const at = Date.UTC(2026, 11, 7, 10, 0, 0);
  const forward = processedBatch(`${tag}-f`, 3, at, (i, t) => forwardEvent(i, t, { host: `web-${i}`, tag }));
  const fwExpected = [0, 1, 2].map((i) => {
    const env = forwardEvent(i, at + i, { host: `web-${i}`, tag });
    return b(`<13>1 ${env.time} web-${i} app.web.access - - ${el(`${tag}-f-${i}-1`)} ${JSON.stringify(env.record)}`);
  });
  return { batches: [lines, forward], expected: [...list.map((c, i) => c.expected(`${tag}-l-${i}`)), ...fwExpected] };
}

function arrivals(file: string): Buffer[] {
  if (!existsSync(file)) return [];
  const data = readFileSync(file);
  const out: Buffer[] = [];
  let from = 0;
  for (let at = data.indexOf(SEP, from); at >= 0; at = data.indexOf(SEP, from)) {
    out.push(data.subarray(from, at));
    from = at + SEP.length;
  }
  return out;
}

/** The arrivals that belong to one test (they hold its tag), once `count` of them are there. */
async function arrived(file: string, tag: string, count: number): Promise<Buffer[]> {
  const mine = () => arrivals(file).filter((a) => a.includes(tag));
  try {
    return await waitFor(
      `${count} messages tagged ${tag} in ${file}`,
      () => {
        const m = mine();
        return m.length >= count ? m : undefined;
      },
      15_000,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; got ${mine().length}: ${mine()
        .map((m) => m.toString('latin1'))
        .join(' | ')}`,
      { cause: err },
    );
  }
}

function sink(registry: Registry, over: Partial<SyslogSinkSettings>, name = 'siem'): SyslogSink {
  return new SyslogSink(
    syslogSinkOptionsFromSettings(syslogSinkSettings({ syslogSinkConnectTimeoutMs: 3000, ...over })),
    registry,
    log,
    name,
  );
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((n, v) => n + v.value, 0);
}

function rsyslogConfig(
  dir: string,
  ports: { tcp: number; udp?: number; tls?: number },
  certs?: TestCertificates,
): string {
  const tlsGlobals =
    certs && ports.tls
      ? ` DefaultNetstreamDriverCAFile="${certs.caFile}" DefaultNetstreamDriverCertFile="${certs.server.cert}" DefaultNetstreamDriverKeyFile="${certs.server.key}"`
      : '';
  return [
    // Control characters and 8-bit bytes are kept as they came: the comparison is byte for byte.
    `global(workDirectory="${join(dir, 'work')}" parser.escapeControlCharactersOnReceive="off" maxMessageSize="64k"${tlsGlobals})`,
    'template(name="dump" type="string" string="%rawmsg%<<END>>\\n")',
    'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="${ports.tcp}" ruleset="dump")`,
    ...(ports.udp
      ? ['module(load="imudp")', `input(type="imudp" address="127.0.0.1" port="${ports.udp}" ruleset="dump")`]
      : []),
    ...(ports.tls
      ? [
          `input(type="imtcp" address="127.0.0.1" port="${ports.tls}" ruleset="dump" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")`,
        ]
      : []),
    `ruleset(name="dump") { action(type="omfile" file="${join(dir, 'out.log')}" template="dump") }`,
    '',
  ].join('\n');
}

function syslogNgConfig(
  dir: string,
  ports: { tcp: number; udp: number; tls: number },
  certs: TestCertificates,
): string {
  const flags = 'flags(store-raw-message)';
  return [
    '@version: 3.35',
    'options { stats-freq(0); log-msg-size(65536); };',
    `source s_tcp { syslog(ip("127.0.0.1") port(${ports.tcp}) transport("tcp") ${flags}); };`,
    `source s_udp { syslog(ip("127.0.0.1") port(${ports.udp}) transport("udp") ${flags}); };`,
    `source s_tls { syslog(ip("127.0.0.1") port(${ports.tls}) transport("tls") ${flags}`,
    `  tls(key-file("${certs.server.key}") cert-file("${certs.server.cert}") ca-file("${certs.caFile}") peer-verify(required-trusted))); };`,
    `destination d_dump { file("${join(dir, 'out.log')}" template("\${RAWMSG}<<END>>\\n") template-escape(no)); };`,
    'log { source(s_tcp); source(s_udp); source(s_tls); destination(d_dump); };',
    '',
  ].join('\n');
}

const missing = rsyslogMissing(true) ?? syslogNgMissing();

describe('syslog sink against real rsyslog and syslog-ng', { skip: missing ?? false }, () => {
  let certs: TestCertificates;
  let dir: string;
  before(() => {
    certs = makeTestCertificates();
    dir = mkdtempSync(join(tmpdir(), 'fanin-syslog-sink-'));
  });
  after(() => {
    rmSync(certs.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  describe('rsyslog', () => {
    let rsyslog: Rsyslogd;
    let ports: { tcp: number; udp: number; tls: number };
    const rdir = () => join(dir, 'rsyslog');
    before(async () => {
      const [tcp, udp, tls] = await freePorts(3);
      ports = { tcp: tcp!, udp: udp!, tls: tls! };
      rsyslog = await Rsyslogd.start(rdir(), rsyslogConfig(rdir(), ports, certs), ports.tcp);
    });
    after(async () => {
      await rsyslog?.stop();
    });

    it('TCP with octet counting: every event arrives byte for byte, the id element in RFC 5424 lines', async () => {
      const registry = new Registry();
      const s = sink(registry, { syslogSinkServers: `127.0.0.1:${ports.tcp}` });
      const { batches, expected } = workload('rs-tcp');
      const result = await s.write(batches);
      assert.equal(result.written, expected.length);
      const got = await arrived(join(rdir(), 'out.log'), 'rs-tcp', expected.length);
      assert.deepEqual(
        got.map((g) => g.toString('latin1')),
        expected.map((e) => e.toString('latin1')),
      );
      assert.equal(
        await metric(registry, 'fanin_uploader_syslog_events_sent_total', { sink: 'siem', kind: 'id_inserted' }),
        3,
      );
      assert.equal(
        await metric(registry, 'fanin_uploader_syslog_events_sent_total', { sink: 'siem', kind: 'verbatim' }),
        2,
      );
      assert.equal(
        await metric(registry, 'fanin_uploader_syslog_events_sent_total', { sink: 'siem', kind: 'rendered' }),
        3,
      );
      await s.close();
    });

    it('TLS (server verified against the test CA, client certificate required): byte for byte', async () => {
      const registry = new Registry();
      const s = sink(registry, {
        syslogSinkServers: `127.0.0.1:${ports.tls}`,
        syslogSinkTransport: 'tls',
        syslogSinkTlsCaFile: certs.caFile,
        syslogSinkTlsCertFile: certs.client.cert,
        syslogSinkTlsKeyFile: certs.client.key,
        syslogSinkTlsServerName: 'localhost',
      });
      const { batches, expected } = workload('rs-tls');
      await s.write(batches);
      const got = await arrived(join(rdir(), 'out.log'), 'rs-tls', expected.length);
      assert.deepEqual(
        got.map((g) => g.toString('latin1')),
        expected.map((e) => e.toString('latin1')),
      );
      await s.close();
    });

    it('TLS refuses a collector whose certificate the trusted CAs did not sign, or whose name does not match', async () => {
      for (const over of [
        { syslogSinkTlsCaFile: certs.rogueClient.cert }, // a CA file that does not hold the signer
        { syslogSinkTlsCaFile: certs.caFile, syslogSinkTlsServerName: 'collector.example.org' },
      ]) {
        const registry = new Registry();
        const s = sink(registry, {
          syslogSinkServers: `127.0.0.1:${ports.tls}`,
          syslogSinkTransport: 'tls',
          syslogSinkTlsCertFile: certs.client.cert,
          syslogSinkTlsKeyFile: certs.client.key,
          ...over,
        });
        await assert.rejects(
          s.write(workload('rs-tls-bad').batches),
          (err) => err instanceof SyslogSendError && err.code === 'SYSLOG_TLS_FAILED' && err.disposition === 'retry',
        );
        assert.equal(await metric(registry, 'fanin_uploader_syslog_send_failures_total', { reason: 'tls' }), 1);
        await s.close();
      }
      assert.equal(arrivals(join(rdir(), 'out.log')).filter((a) => a.includes('rs-tls-bad')).length, 0);
    });

    it('UDP: one event per datagram, byte for byte; counted as unacknowledged; oversize events counted, not sent', async () => {
      const registry = new Registry();
      const s = sink(registry, {
        syslogSinkServers: `127.0.0.1:${ports.udp}`,
        syslogSinkTransport: 'udp',
        syslogSinkUdpMaxBytes: 1000,
      });
      const { batches, expected } = workload('rs-udp');
      const big = syslogLineBatch('rs-udp-big', [b(`<13>1 - h a - - - rs-udp ${'x'.repeat(1200)}`)]);
      await s.write([...batches, big]);
      const got = await arrived(join(rdir(), 'out.log'), 'rs-udp', expected.length);
      // Datagrams may be reordered in principle; on loopback they are not, but compare as sets to be fair to UDP.
      assert.deepEqual(got.map((g) => g.toString('latin1')).sort(), expected.map((e) => e.toString('latin1')).sort());
      assert.equal(
        await metric(registry, 'fanin_uploader_syslog_udp_unacknowledged_events_total', { sink: 'siem' }),
        expected.length,
      );
      assert.equal(await metric(registry, 'fanin_uploader_syslog_oversize_events_total', { sink: 'siem' }), 1);
      await s.close();
    });
  });

  describe('syslog-ng', () => {
    let ng: SyslogNg;
    let ports: { tcp: number; udp: number; tls: number };
    const ndir = () => join(dir, 'syslog-ng');
    before(async () => {
      const [tcp, udp, tls] = await freePorts(3);
      ports = { tcp: tcp!, udp: udp!, tls: tls! };
      ng = await SyslogNg.start(ndir(), syslogNgConfig(ndir(), ports, certs), ports.tcp);
    });
    after(async () => {
      await ng?.stop();
    });

    for (const transport of ['tcp', 'tls', 'udp'] as const) {
      it(`${transport}: every event arrives byte for byte`, async () => {
        const registry = new Registry();
        const tls =
          transport === 'tls'
            ? {
                syslogSinkTlsCaFile: certs.caFile,
                syslogSinkTlsCertFile: certs.client.cert,
                syslogSinkTlsKeyFile: certs.client.key,
              }
            : {};
        // TLS by host name (the name checked is the one in servers); UDP to the address, which lookup('localhost') might not give.
        const host = transport === 'tls' ? 'localhost' : '127.0.0.1';
        const s = sink(registry, {
          syslogSinkServers: `${host}:${ports[transport]}`,
          syslogSinkTransport: transport,
          ...tls,
        });
        const tag = `ng-${transport}`;
        const { batches, expected } = workload(tag);
        await s.write(batches);
        const got = await arrived(join(ndir(), 'out.log'), tag, expected.length);
        assert.deepEqual(got.map((g) => g.toString('latin1')).sort(), expected.map((e) => e.toString('latin1')).sort());
        await s.close();
      });
    }
  });
});
