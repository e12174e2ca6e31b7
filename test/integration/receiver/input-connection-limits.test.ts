import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { settings } from '../../../shared/config/settings.js';
import { metricValue } from '../../support/local-fleet-process.js';
import { InProcessReceiver } from '../../support/in-process-receiver.js';
import { freePorts } from '../../../testkit/free-ports.js';
import { waitFor } from '../../../testkit/services.js';
import { closedWithin, openTcp } from '../../support/sockets.js';

/**
 * Idle connections to the Forward and HTTP inputs of a real receiver with the default limits (the settings' own
 * defaults, not test values): a flood from one address is held only up to the per-address limit, the rest closed at
 * once and counted; the slots free up when the flood goes.
 */
const FLOOD = 100;

describe('connection limits of the Forward and HTTP inputs (defaults)', () => {
  let r: InProcessReceiver;
  let ports: { forward: number; http: number };
  before(async () => {
    const [forward, http] = (await freePorts(2)) as [number, number];
    ports = { forward, http };
    r = await InProcessReceiver.start({
      FANIN_RECEIVER_FORWARD_PORT: String(forward),
      FANIN_RECEIVER_HTTP_PORT: String(http),
      FANIN_RECEIVER_SYSLOG_TLS_PORT: '0',
    });
  });
  after(async () => {
    await r.stop();
  });
  const metric = async (name: string, labels: Record<string, string>) =>
    metricValue(await r.metricsText(), name, labels);

  for (const input of ['forward', 'http'] as const) {
    it(`${input}: ${FLOOD} idle connections from one address: the per-address limit is held, the rest refused and counted`, async () => {
      const perAddress = (
        input === 'forward' ? settings.forwardMaxConnectionsPerAddress : settings.httpMaxConnectionsPerAddress
      ).default;
      assert.ok(perAddress < FLOOD);
      const sockets: Socket[] = [];
      try {
        for (let i = 0; i < FLOOD; i++) sockets.push(await openTcp(ports[input]));
        const closed = await Promise.all(sockets.map((s) => closedWithin(s, 1000)));
        assert.equal(closed.filter((c) => !c).length, perAddress, 'held open');
        assert.equal(closed.filter(Boolean).length, FLOOD - perAddress, 'closed at once');
        assert.equal(
          await metric('fanin_receiver_connections_refused_total', {
            transport: input,
            reason: 'max_connections_per_address',
          }),
          FLOOD - perAddress,
        );
        assert.equal(await metric('fanin_receiver_connections', { transport: input }), perAddress);
        // Another sender is not held back by the first one's flood.
        const other = await openTcp(ports[input], '127.0.0.2');
        sockets.push(other);
        assert.equal(await closedWithin(other, 300), false);
      } finally {
        for (const s of sockets) s.destroy();
      }
      await waitFor(
        'slots freed',
        async () => ((await metric('fanin_receiver_connections', { transport: input })) === 0 ? true : undefined),
        5000,
      );
    });
  }
});
