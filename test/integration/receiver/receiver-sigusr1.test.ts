import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { InProcessReceiver } from '../../support/in-process-receiver.js';

/** SIGUSR1 makes a receiver publish its open batch at once (td-agent's flush signal). */
describe('receiver SIGUSR1', () => {
  let r: InProcessReceiver;
  before(async () => {
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_BATCH_MAX_DELAY_MS: '600000',
      FANIN_RECEIVER_BATCH_MAX_EVENTS: '10000',
    });
  });
  after(async () => {
    await r.stop();
  });

  it('publishes the open batch on SIGUSR1 instead of waiting for its age bound', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((res, rej) =>
      socket.send(Buffer.from('<13>1 - - - - - - usr1-flush'), r.ports.syslog, '127.0.0.1', (e) =>
        e ? rej(e) : res(),
      ),
    );
    socket.close();
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(
      r.events.filter((e) => e.message === 'usr1-flush').length,
      0,
      'held in the open batch (10 min age bound)',
    );
    process.kill(process.pid, 'SIGUSR1');
    const landed = await r.settled('usr1-flush', 1, 5000);
    assert.equal(landed.length, 1);
  });
});
