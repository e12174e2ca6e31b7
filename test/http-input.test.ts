import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger } from '../shared/logger.js';
import { createRegistry } from '../shared/metrics/registry.js';
import { EventBatcher } from '../receiver/event-batcher.js';
import { bearerCheck, startHttpInput } from '../receiver/inputs/http-input.js';
import { Intake } from '../receiver/intake.js';
import { createReceiverMetrics } from '../receiver/receiver-metrics.js';
import { ManualPublisher } from './support/manual-publisher.js';

/** The HTTP input on a real listener (port 0) with a stand-in broker: auth, backpressure, answer after the confirm. */
describe('HTTP input on a socket', () => {
  const publisher = new ManualPublisher();
  const batcher = new EventBatcher({ maxEvents: 100, maxBytes: 64 * 1024, maxDelayMs: 5 }, () => undefined);
  const intake = new Intake(batcher, publisher.asIntakePublisher);
  const metrics = createReceiverMetrics(createRegistry('receiver', 'http-test'));
  let server: Server;
  let url: string;
  before(async () => {
    server = await startHttpInput({ host: '127.0.0.1', port: 0, receiverId: 'a', maxBodyBytes: 1024, bearerToken: 's3cret' },
      intake, metrics, createLogger('test', 'http', 'fatal'));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => { publisher.autoConfirm = true; publisher.setPressure(false); publisher.canAccept = true; });
  after(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

  const post = (headers: Record<string, string> = { authorization: 'Bearer s3cret' }, body = '{"message":"hi"}') =>
    fetch(`${url}/app.web`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  it('answers 401 with WWW-Authenticate without the bearer token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic czNjcmV0' }] as Record<string, string>[]) {
      const res = await post(headers);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.equal((await post()).status, 200);
  });

  it('answers 503 with Retry-After while stream inputs are paused, and when memory is full', async () => {
    publisher.setPressure(true);
    const paused = await post();
    assert.equal(paused.status, 503);
    assert.equal(paused.headers.get('retry-after'), '1');
    publisher.setPressure(false);
    publisher.canAccept = false;
    assert.equal((await post()).status, 503);
  });

  it('answers 2xx only after the broker confirmed the batch', async () => {
    publisher.autoConfirm = false;
    let status = 0;
    const pending = post().then((r) => { status = r.status; });
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(status, 0, 'no answer before the confirm');
    publisher.confirmAll();
    await pending;
    assert.equal(status, 200);
  });

  it('checks tokens in constant time, whatever the form', () => {
    const check = bearerCheck('tok');
    assert.equal(check('Bearer tok'), true);
    assert.equal(check('bearer   tok'), true);
    assert.equal(check('Bearer tok2'), false);
    assert.equal(check(undefined), false);
    assert.equal(bearerCheck('')(undefined), true, 'no token configured: open');
  });
});
