import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { pidListeningOn, serverPids } from '../../../bench/lib/proc.js';

describe('bench: the server behind a port', () => {
  it('finds the process listening on a TCP port, and none on a port nobody listens on', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      assert.equal(pidListeningOn(port), process.pid);
      assert.deepEqual(serverPids(`redis://127.0.0.1:${port}`, 6379, 'no-such-comm'), [process.pid]);
    } finally {
      server.close();
    }
    await once(server, 'close');
    assert.equal(pidListeningOn(port), null);
    assert.deepEqual(serverPids(`redis://127.0.0.1:${port}`, 6379, 'no-such-comm'), [], 'by name when no port');
  });
});
