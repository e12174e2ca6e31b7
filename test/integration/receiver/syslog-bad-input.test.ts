import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { metricValue } from '../../support/local-fleet-process.js';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { waitFor } from '../../../testkit/services.js';
import { closedWithin, openTcp } from '../../support/sockets.js';

/**
 * The bad-input table of docs/syslog-limits.md, case by case, against a real receiver (runReceiver in this process,
 * the real RabbitMQ): what the sender sees (connection kept or closed), what is counted, and what lands in `<ns>.new`.
 */
const MAX_FRAME = 16_384;
const IDLE_MS = 2000;

describe('syslog bad input (docs/syslog-limits.md)', () => {
  let r: InProcessReceiver;
  before(async () => {
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_MAX_FRAME_BYTES: String(MAX_FRAME),
      FANIN_RECEIVER_IDLE_TIMEOUT_MS: String(IDLE_MS),
      FANIN_RECEIVER_MAX_CONNECTIONS: '30',
      FANIN_RECEIVER_MAX_CONNECTIONS_PER_ADDRESS: '20',
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
      FANIN_RECEIVER_UDP_RECEIVE_BUFFER_BYTES: '65536',
    });
  });
  after(async () => {
    await r.stop();
  });

  const marker = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
  const line = (text: string) => `<13>1 2026-11-23T00:00:00Z host app - - - ${text}`;
  const octet = (text: string) => {
    const b = Buffer.from(text);
    return Buffer.concat([Buffer.from(`${b.length} `), b]);
  };
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricValue(await r.metricsText(), name, labels);
  const open = (localAddress = '127.0.0.1') => openTcp(r.ports.syslog, localAddress);
  const sendUdp = async (payload: Buffer) => {
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => s.send(payload, r.ports.syslog, '127.0.0.1', (e) => (e ? rej(e) : res())));
    s.close();
  };
  const noOpenConnections = () =>
    waitFor(
      'no open connections',
      async () => ((await metric('fanin_receiver_connections', { transport: 'tcp' })) === 0 ? true : undefined),
      5000,
    );

  it('an octet-counted frame declaring more than maxFrameBytes closes the connection; frames before it landed', async () => {
    const ok = marker('before-oversize');
    const big = marker('oversize-octet');
    const rejected = await metric('fanin_receiver_frames_rejected_total', {
      transport: 'tcp',
      reason: 'frame_too_large',
    });
    const s = await open();
    s.write(octet(line(ok)));
    await r.settled(ok, 1);
    s.write(octet(line(`${big} ${'x'.repeat(MAX_FRAME)}`)));
    assert.ok(await closedWithin(s, 2000), 'the receiver closed the connection');
    assert.equal(
      await metric('fanin_receiver_frames_rejected_total', { transport: 'tcp', reason: 'frame_too_large' }),
      rejected + 1,
    );
    assert.equal(r.landed(big).length, 0, 'an oversize frame is rejected, not truncated');
  });

  it('a frame declaring 999999999 bytes (or an endless MSG-LEN) closes the connection at once, without allocating', async () => {
    const rejected = await metric('fanin_receiver_frames_rejected_total', {
      transport: 'tcp',
      reason: 'frame_too_large',
    });
    const before = process.memoryUsage();
    for (const header of ['999999999 ', '99999999999999999999999999']) {
      const s = await open();
      s.write(`${header}<13>1 - host app - - - `); // and then nothing: a receiver that waits for the body would hang
      assert.ok(await closedWithin(s, 1000), `closed after "${header}" alone`);
    }
    const afterUse = process.memoryUsage();
    assert.equal(
      await metric('fanin_receiver_frames_rejected_total', { transport: 'tcp', reason: 'frame_too_large' }),
      rejected + 2,
    );
    // A buffer for the declared body would show in arrayBuffers even before its pages are touched.
    assert.ok(
      afterUse.arrayBuffers - before.arrayBuffers < 16 * 1024 * 1024,
      `arrayBuffers grew ${afterUse.arrayBuffers - before.arrayBuffers} bytes`,
    );
    assert.ok(afterUse.rss - before.rss < 64 * 1024 * 1024, `RSS grew ${afterUse.rss - before.rss} bytes`);
  });

  it('a 1 MB newline-framed line (over maxFrameBytes) closes the connection; nothing of it lands', async () => {
    const big = marker('megabyte-line');
    const rejected = await metric('fanin_receiver_frames_rejected_total', {
      transport: 'tcp',
      reason: 'frame_too_large',
    });
    const s = await open();
    s.write(`${line(big)} ${'y'.repeat(1024 * 1024)}\n`);
    assert.ok(await closedWithin(s, 3000), 'the receiver closed the connection');
    assert.equal(
      await metric('fanin_receiver_frames_rejected_total', { transport: 'tcp', reason: 'frame_too_large' }),
      rejected + 1,
    );
    assert.equal(r.landed(big).length, 0);
  });

  it('a UDP datagram over maxFrameBytes is dropped and counted; one under it lands', async () => {
    const big = marker('udp-oversize');
    const fits = marker('udp-fits');
    const drops = await metric('fanin_receiver_udp_drops_total', { reason: 'oversize' });
    await sendUdp(Buffer.from(`${line(big)} ${'z'.repeat(MAX_FRAME)}`));
    await sendUdp(Buffer.from(`${line(fits)} ${'z'.repeat(MAX_FRAME - 200)}`));
    await r.settled(fits, 1);
    assert.equal(await metric('fanin_receiver_udp_drops_total', { reason: 'oversize' }), drops + 1);
    assert.equal(r.landed(big).length, 0);
  });

  it('every datagram is an event or a counted drop: one holding only a newline (or CR, NUL) is counted as empty', async () => {
    const after = marker('udp-after-empty');
    const empty = await metric('fanin_receiver_udp_drops_total', { reason: 'empty' });
    const received = await metric('fanin_receiver_events_received_total', { protocol: 'syslog', transport: 'udp' });
    for (const payload of ['\n', '\r\n', '\0', '']) await sendUdp(Buffer.from(payload));
    await sendUdp(Buffer.from(line(after)));
    await r.settled(after, 1);
    assert.equal(await metric('fanin_receiver_udp_drops_total', { reason: 'empty' }), empty + 4);
    assert.equal(
      await metric('fanin_receiver_events_received_total', { protocol: 'syslog', transport: 'udp' }),
      received + 1,
    );
  });

  it('a burst of datagrams is counted exactly: every one received is in events_received_total', async () => {
    const m = marker('udp-burst');
    const received = await metric('fanin_receiver_events_received_total', { protocol: 'syslog', transport: 'udp' });
    const s = createSocket('udp4');
    const sends = Array.from(
      { length: 200 },
      (_, i) =>
        new Promise<void>((res, rej) =>
          s.send(Buffer.from(line(`${m} ${i}`)), r.ports.syslog, '127.0.0.1', (e) => (e ? rej(e) : res())),
        ),
    );
    await Promise.all(sends);
    s.close();
    // Every datagram the receiver took is counted and lands (those the kernel dropped do neither): wait until the
    // count of landed events and the counter agree, and stay at what was sent or less.
    await waitFor(
      'counter and landed events agree',
      async () => {
        const counted =
          (await metric('fanin_receiver_events_received_total', { protocol: 'syslog', transport: 'udp' })) - received;
        return counted > 0 && counted === r.landed(m).length ? true : undefined;
      },
      15_000,
    );
    assert.ok(r.landed(m).length <= 200);
  });

  it('a line without PRI that starts with digits lands, counted as a MSG-LEN fallback; the connection stays open', async () => {
    const m = marker('no-pri-digits');
    const fallbacks = await metric('fanin_receiver_frames_msglen_fallback_total', { transport: 'tcp' });
    const rejected = await metric('fanin_receiver_frames_rejected_total', {
      transport: 'tcp',
      reason: 'frame_too_large',
    });
    const s = await open();
    s.write(`2026-11-23 10:00:00 host app: ${m} dated\n4321: ${m} sequence\n`);
    s.write(octet(line(`${m} after`)));
    const events = await r.settled(m, 3);
    assert.deepEqual(
      events.map((e) => e.message),
      [
        // The first line's RFC 3339 date (a space for 'T') is its header: host and app are read, MSG is the rest.
        `${m} dated`,
        `4321: ${m} sequence`,
        `${m} after`,
      ],
    );
    // RFC 3164 4.3.3: a line without PRI is user.notice.
    assert.deepEqual(
      events.slice(0, 2).map((e) => [e.facility, e.severity]),
      [
        ['user', 'notice'],
        ['user', 'notice'],
      ],
    );
    assert.equal(s.destroyed, false, 'the connection is still open');
    assert.equal(await metric('fanin_receiver_frames_msglen_fallback_total', { transport: 'tcp' }), fallbacks + 2);
    assert.equal(
      await metric('fanin_receiver_frames_rejected_total', { transport: 'tcp', reason: 'frame_too_large' }),
      rejected,
    );
    s.end();
  });

  it('invalid UTF-8 lands: the parsed fields keep U+FFFD where the bytes were invalid (TCP and UDP)', async () => {
    const m = marker('bad-utf8');
    const bytes = Buffer.concat([Buffer.from(line(`${m} `)), Buffer.from([0xff, 0xfe, 0x20, 0xc3, 0x28])]);
    const s = await open();
    s.end(Buffer.concat([bytes, Buffer.from('\n')]));
    await sendUdp(bytes);
    const events = await r.settled(m, 2);
    assert.equal(events.length, 2);
    for (const e of events) {
      assert.equal(e.format, 'rfc5424');
      assert.equal(e.message, `${m} \uFFFD\uFFFD \uFFFD(`);
    }
    assert.deepEqual(events.map((e) => e.transport).sort(), ['tcp', 'udp']);
  });

  it('NUL bytes inside a message are content; trailing NULs (like CR/LF) are terminators', async () => {
    const m = marker('nul');
    const s = await open();
    s.end(`${line(`${m} a\0b`)}\0\0\n`);
    await sendUdp(Buffer.from(`${line(`${m} a\0b`)}\0`));
    const events = await r.settled(m, 2);
    assert.equal(events.length, 2);
    for (const e of events) assert.equal(e.message, `${m} a\0b`);
  });

  it('a slow client trickling one byte at a time still frames correctly (octet counting and newlines, mixed)', async () => {
    const m = marker('slow');
    const s = await open();
    s.setNoDelay(true);
    const bytes = Buffer.concat([
      octet(line(`${m} one`)),
      Buffer.from(`${line(`${m} two`)}\n`),
      octet(line(`${m} three`)),
    ]);
    for (let i = 0; i < bytes.length; i++) {
      s.write(bytes.subarray(i, i + 1));
      await new Promise((res) => setTimeout(res, 2));
    }
    const events = await r.settled(m, 3);
    assert.deepEqual(
      events.map((e) => e.message),
      [`${m} one`, `${m} two`, `${m} three`],
    );
    s.end();
  });

  it('an idle connection is closed after receiver.idleTimeoutMs and counted; one that keeps talking is not', async () => {
    const m = marker('idle');
    const timeouts = await metric('fanin_receiver_idle_timeouts_total', { transport: 'tcp' });
    const idle = await open();
    const talker = await open();
    const started = Date.now();
    idle.write(`${line(`${m} idle`)}\n`);
    let n = 0;
    const timer = setInterval(() => {
      talker.write(`${line(`${m} talk ${n++}`)}\n`);
    }, IDLE_MS / 4);
    const idleClosed = await closedWithin(idle, IDLE_MS + 2000);
    const elapsed = Date.now() - started;
    await new Promise((res) => setTimeout(res, IDLE_MS / 2));
    clearInterval(timer);
    assert.ok(idleClosed && elapsed >= IDLE_MS - 100, `idle connection closed after ${elapsed} ms`);
    assert.equal(talker.destroyed, false, 'the talking connection is still open');
    assert.equal(await metric('fanin_receiver_idle_timeouts_total', { transport: 'tcp' }), timeouts + 1);
    assert.equal(r.landed(`${m} idle`).length, 1, 'what the idle connection sent before landed');
    talker.end();
  });

  it('a connection flood past maxConnections (30) and maxConnectionsPerAddress (20) is refused and counted; admitted ones work', async () => {
    await noOpenConnections();
    const refused = async (reason: string) =>
      metric('fanin_receiver_connections_refused_total', { transport: 'tcp', reason });
    const [perAddress0, overall0] = [await refused('max_connections_per_address'), await refused('max_connections')];
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) sockets.push(await open('127.0.0.1'));
      const overPerAddress = await open('127.0.0.1');
      assert.ok(await closedWithin(overPerAddress, 1000), 'the 21st connection from one address: closed');
      for (let i = 0; i < 10; i++) sockets.push(await open('127.0.0.2'));
      await waitFor(
        '30 admitted',
        async () => ((await metric('fanin_receiver_connections', { transport: 'tcp' })) === 30 ? true : undefined),
        5000,
      );
      const overAll = await open('127.0.0.3');
      assert.ok(await closedWithin(overAll, 1000), 'the 31st connection: closed');
      assert.equal(await refused('max_connections_per_address'), perAddress0 + 1);
      assert.equal(await refused('max_connections'), overall0 + 1);
      assert.ok(
        sockets.slice(0, 30).every((s) => !s.destroyed),
        'admitted connections stay open',
      );

      const m = marker('flood');
      sockets[29]!.write(`${line(m)}\n`);
      await r.settled(m, 1);

      for (const s of sockets.splice(0, 5)) s.destroy();
      await waitFor(
        'slots released',
        async () => ((await metric('fanin_receiver_connections', { transport: 'tcp' })) === 25 ? true : undefined),
        5000,
      );
      const late = await open('127.0.0.3');
      sockets.push(late);
      assert.equal(await closedWithin(late, 300), false, 'a freed slot admits a new connection');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it(
    'kernel UDP drops (receive buffer full while the event loop is busy) are read from /proc/net/udp and counted',
    { skip: !existsSync('/proc/net/udp') && 'no /proc/net/udp' },
    async () => {
      const m = marker('kernel-drops');
      const count = 2000;
      const drops0 = await metric('fanin_receiver_udp_kernel_drops_total');
      assert.ok(
        (await metric('fanin_receiver_udp_receive_buffer_bytes')) >= 65536,
        'the effective receive buffer is reported',
      );
      // spawnSync blocks this process, receiver included, while the child sends: the 64 KiB buffer must overflow.
      const script =
        `const s=require('dgram').createSocket('udp4');let i=0;const next=()=>{if(i===${count}){s.close();return;}` +
        `s.send(Buffer.from('<13>1 2026-11-23T00:00:00Z host app - - - ${m} '+(i++)+' '+'p'.repeat(300)),${r.ports.syslog},'127.0.0.1',next);};next();`;
      const sent = spawnSync(process.execPath, ['-e', script], { timeout: 20_000 });
      assert.equal(sent.status, 0, String(sent.stderr));
      let drops = 0;
      await waitFor(
        'every datagram landed or counted as a kernel drop',
        async () => {
          drops = (await metric('fanin_receiver_udp_kernel_drops_total')) - drops0;
          return r.landed(m).length + drops === count ? true : undefined;
        },
        10_000,
      );
      assert.ok(drops > 0, 'the buffer overflowed');
    },
  );
});
