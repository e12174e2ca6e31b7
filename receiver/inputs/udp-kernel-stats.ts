// The kernel's own counters for one UDP socket, read from /proc/net/udp (Linux). Datagrams that arrive while the
// socket's receive buffer is full are dropped by the kernel before Node ever sees them; only the kernel counts them,
// in the `drops` column of the socket's row. Other systems have no such file: the reader then reports nothing.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface UdpSocketCounters {
  /** Datagrams dropped by the kernel for this socket since it was opened. */
  readonly drops: number;
  /** Bytes queued in the socket's receive buffer, not yet read by the process. */
  readonly rxQueueBytes: number;
}

export interface ProcNetUdpRow extends UdpSocketCounters {
  readonly localPort: number;
  readonly inode: number;
}

/**
 * Rows of /proc/net/udp or /proc/net/udp6:
 *   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
 * Addresses are hex `ADDR:PORT`, queues hex, inode and drops decimal. Lines that do not have that shape are skipped.
 */
export function parseProcNetUdp(text: string): ProcNetUdpRow[] {
  const rows: ProcNetUdpRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !f[0]!.endsWith(':')) continue;
    const local = f[1]!;
    const queues = f[4]!.split(':');
    const localPort = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const rxQueueBytes = parseInt(queues[1] ?? '', 16);
    const inode = Number(f[9]);
    const drops = Number(f[12]);
    if ([localPort, rxQueueBytes, inode, drops].some((n) => !Number.isFinite(n))) continue;
    rows.push({ localPort, inode, rxQueueBytes, drops });
  }
  return rows;
}

const TABLES = ['/proc/net/udp', '/proc/net/udp6'];

/**
 * A reader for the UDP socket this process has bound on `port`, or null when /proc is unavailable or the socket is
 * not found. The socket is identified by its inode (among this process's open descriptors), not by port alone, so
 * another process's socket on the same port (SO_REUSEPORT) is never reported as ours.
 */
export function udpSocketCounterReader(port: number): (() => UdpSocketCounters | null) | null {
  let ours: Set<number>;
  try {
    ours = socketInodesOfThisProcess();
  } catch {
    return null;
  }
  const found = findRow((r) => r.localPort === port && ours.has(r.inode));
  if (found === null) return null;
  const inode = found.inode;
  return () => findRow((r) => r.inode === inode);
}

function findRow(match: (row: ProcNetUdpRow) => boolean): ProcNetUdpRow | null {
  for (const table of TABLES) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    const row = parseProcNetUdp(text).find(match);
    if (row) return row;
  }
  return null;
}

function socketInodesOfThisProcess(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(Number(m[1]));
  }
  return inodes;
}
