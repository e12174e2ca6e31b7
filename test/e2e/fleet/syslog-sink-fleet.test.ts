import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { freePorts } from '../../../testkit/free-ports.js';
import { LocalFleetProcess, metricValue } from '../../support/local-fleet-process.js';
import { Rsyslogd, rsyslogMissing } from '../../support/rsyslogd.js';
import { AMQP_URL, waitFor } from '../../../testkit/services.js';

/**
 * Device to SIEM through the real `fanin up` (receivers, workers, uploader as child processes, real RabbitMQ and
 * Redis) with receiver.syslogKeepRaw on and a syslog sink beside the file sink, pointed at a private rsyslog that
 * dumps every message as it arrived. Each line is fanned out to both receivers, over TCP (octet counting) and UDP:
 * each must reach rsyslog once, byte for byte, with the id the file sink wrote for it in its element.
 */
const SEP = Buffer.from('<<END>>\n');
const ELEMENT = /\[fanin@32473 id="([^"]+)"\]/;

function sendTcp(port: number, lines: readonly Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => {
      for (const l of lines) s.write(Buffer.concat([Buffer.from(`${l.length} `), l]));
      s.end(resolve);
    });
    s.on('error', reject);
  });
}

async function sendUdp(port: number, lines: readonly Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  for (const l of lines)
    await new Promise<void>((resolve, reject) =>
      s.send(l, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  s.close();
}

describe(
  'syslog sink in the real fleet: device to collector, byte for byte, deduplicated',
  { skip: rsyslogMissing(false) ?? false },
  () => {
    const fleet = new LocalFleetProcess();
    const dir = mkdtempSync(join(tmpdir(), 'fanin-syslog-fleet-'));
    let rsyslog: Rsyslogd;

    before(async () => {
      const [port] = (await freePorts(1)) as [number];
      rsyslog = await Rsyslogd.start(
        dir,
        [
          `global(workDirectory="${join(dir, 'work')}" parser.escapeControlCharactersOnReceive="off")`,
          'template(name="dump" type="string" string="%rawmsg%<<END>>\\n")',
          'module(load="imtcp")',
          `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="dump")`,
          `ruleset(name="dump") { action(type="omfile" file="${join(dir, 'out.log')}" template="dump") }`,
          '',
        ].join('\n'),
        port,
      );
      await fleet.start({
        FANIN_SINKS: 'file,syslog',
        FANIN_RECEIVER_SYSLOG_KEEP_RAW: 'true',
        FANIN_UPLOADER_SYSLOG_SINK_SERVERS: `127.0.0.1:${port}`,
      });
    });
    after(async () => {
      await fleet.cleanup();
      const conn = await connect(AMQP_URL);
      const ch = await conn.createChannel();
      await ch.deleteQueue(`${fleet.namespace}.sink.syslog`).catch(() => undefined);
      await conn.close().catch(() => undefined);
      await rsyslog?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every line once at the collector, as the device sent it plus the id element the file sink agrees with', async () => {
      const run = `run-${randomBytes(3).toString('hex')}`;
      const high = Buffer.from([0xff, 0xfe, 0xe9]);
      const make = (n: number) => {
        const tag = `${run}.${n}`;
        switch (n % 3) {
          case 0:
            return {
              line: Buffer.from(
                `<165>1 2026-12-07T10:00:00.5+01:00 dev${n} app 7 ID1 [ex@32473 k="v"] \u{feff}${tag} sd`,
              ),
              sd: '[ex@32473 k="v"]',
            };
          case 1:
            return {
              line: Buffer.concat([Buffer.from(`<14>1 2026-12-07T10:00:01Z dev${n} app - - - ${tag} bytes `), high]),
              sd: '-',
            };
          default:
            return { line: Buffer.from(`<34>Dec  7 10:00:02 dev${n} su: ${tag} rfc3164`), sd: null };
        }
      };
      const tcpLines = Array.from({ length: 30 }, (_, n) => make(n));
      const udpLines = Array.from({ length: 9 }, (_, n) => make(100 + n));
      const all = [...tcpLines, ...udpLines];
      for (const base of [5514, 5515]) {
        await sendTcp(
          fleet.port(base),
          tcpLines.map((x) => x.line),
        );
        await sendUdp(
          fleet.port(base),
          udpLines.map((x) => x.line),
        );
      }
      const out = join(dir, 'out.log');
      const arrivals = () => {
        if (!existsSync(out)) return [];
        const data = readFileSync(out);
        const got: Buffer[] = [];
        for (let from = 0, at = data.indexOf(SEP); at >= 0; from = at + SEP.length, at = data.indexOf(SEP, from))
          got.push(data.subarray(from, at));
        return got.filter((g) => g.includes(run));
      };
      // UDP on loopback does not lose these few datagrams; any that were would show as a missing line below.
      await waitFor(
        `${all.length} lines at rsyslog`,
        () => (arrivals().length >= all.length ? true : undefined),
        30_000,
        100,
      );
      await new Promise((r) => setTimeout(r, 1000)); // a duplicate, if any, would come now
      const got = arrivals();
      assert.equal(got.length, all.length, 'each line once: the fan-out copies were deduplicated before the sink');
      const fileIds = new Map(
        fleet
          .readOutput()
          .filter((l) => l.message?.includes(run))
          .map((l) => [/\S+\.\d+/.exec(l.message!.slice(l.message!.indexOf(run)))![0], l.id]),
      );
      assert.equal(fileIds.size, all.length, 'the file sink wrote every event too');
      for (const { line, sd } of all) {
        const tag = /run-[0-9a-f]+\.\d+/.exec(line.toString('latin1'))![0];
        const arrived = got.find((g) => g.toString('latin1').includes(`${tag} `));
        assert.ok(arrived, `${tag} arrived`);
        const id = fileIds.get(tag);
        assert.ok(id, `the file sink has ${tag}`);
        let expected = line;
        if (sd !== null) {
          const text = line.toString('latin1');
          const element = `[fanin@32473 id="${id}"]`;
          expected = Buffer.from(
            sd === '-' ? text.replace(' - - - ', ` - - ${element} `) : text.replace(sd, sd + element),
            'latin1',
          );
          assert.equal(ELEMENT.exec(arrived.toString('latin1'))?.[1], id);
        }
        assert.deepEqual(arrived.toString('latin1'), expected.toString('latin1'), tag);
      }
      assert.ok(
        fleet.readOutput().every((l) => !('raw' in l)),
        "the file sink's lines do not change with syslogKeepRaw",
      );
      const metrics = await fleet.metrics(9621);
      assert.equal(metricValue(metrics, 'fanin_uploader_syslog_events_sent_total', { kind: 'id_inserted' }), 26);
      assert.equal(metricValue(metrics, 'fanin_uploader_syslog_events_sent_total', { kind: 'verbatim' }), 13);
    });
  },
);
