import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionLimiter } from '../../../../receiver/inputs/connection-limiter.js';
import { parseProcNetUdp } from '../../../../receiver/inputs/udp-kernel-stats.js';

describe('connection limiter', () => {
  it('refuses past the per-address limit, then past the overall one, and frees slots on release', () => {
    const l = new ConnectionLimiter(3, 2);
    assert.equal(l.acquire('10.0.0.1'), null);
    assert.equal(l.acquire('10.0.0.1'), null);
    assert.equal(l.acquire('10.0.0.1'), 'max_connections_per_address');
    assert.equal(l.acquire('10.0.0.2'), null);
    assert.equal(l.acquire('10.0.0.3'), 'max_connections');
    assert.equal(l.open, 3);
    l.release('10.0.0.1');
    assert.equal(l.acquire('10.0.0.3'), null);
    assert.equal(l.acquire('10.0.0.1'), 'max_connections');
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) l.release(a);
    assert.equal(l.open, 0);
    assert.equal(l.acquire('10.0.0.1'), null);
    assert.equal(l.acquire('10.0.0.1'), null, 'per-address counts went back to zero');
  });
});

describe('connection limiter behind the PROXY protocol', () => {
  it('a slot taken before the sender is known counts toward the total only, then is charged to the sender', () => {
    const l = new ConnectionLimiter(3, 1);
    assert.equal(l.acquire(null), null);
    assert.equal(l.acquire(null), null);
    assert.equal(l.assign('192.0.2.1'), null);
    assert.equal(l.assign('192.0.2.1'), 'max_connections_per_address', 'the second connection of that sender');
    assert.equal(l.acquire(null), null);
    assert.equal(l.acquire(null), 'max_connections', 'pending headers count toward the total');
    l.release(null); // the refused one, still unaddressed
    l.release('192.0.2.1');
    assert.equal(l.assign('192.0.2.1'), null, "the sender's slot is free again");
    assert.equal(l.open, 1);
  });
});

describe('/proc/net/udp parsing', () => {
  it('reads port, inode, receive queue and drops of each row, and skips the header', () => {
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
      '  123: 0100007F:159A 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 4242 2 0000000000000000 17       ',
      ' 7001: 00000000000000000000000000000000:1A0B 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 99 2 0000000000000000 0',
      'garbage',
    ].join('\n');
    assert.deepEqual(parseProcNetUdp(text), [
      { localPort: 0x159a, inode: 4242, rxQueueBytes: 0xa00, drops: 17 },
      { localPort: 0x1a0b, inode: 99, rxQueueBytes: 0, drops: 0 },
    ]);
  });
});
