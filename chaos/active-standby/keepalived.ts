import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { note, sleep } from '../util.js';

export interface VrrpPeerConfig {
  readonly routerId: string;
  /** The interface that carries the host's address and gets the VIP. */
  readonly iface: string;
  readonly selfAddress: string;
  readonly peerAddress: string;
  readonly vip: string;
  readonly prefixLength: number;
  readonly virtualRouterId: number;
  readonly priority: number;
  /** Seconds; below 1 needs VRRP version 3. */
  readonly advertIntervalS: number;
  /** The receiver's liveness endpoint, checked from inside the host. */
  readonly healthUrl: string;
  /** Seconds between checks (keepalived's minimum is 1). */
  readonly checkIntervalS: number;
  /**
   * A file holding 0 while the receiver runs and 1 once it exited (systemd's ExecStartPre/ExecStopPost can write it):
   * keepalived watches it with inotify and acts at once, without waiting for the next script run. Null: not used.
   */
  readonly stateFile: string | null;
}

/**
 * keepalived.conf for one of the two hosts. Both start as BACKUP with `nopreempt`: the first election gives the VIP
 * to the higher priority, and after a failover the VIP stays where it is when the failed receiver comes back (a move
 * back would cut the TCP connections to the new master a second time). The track script checks liveness (/healthz),
 * not readiness: a receiver that cannot reach the broker still accepts and spools, and must keep the VIP.
 */
export function keepalivedConfig(c: VrrpPeerConfig): string {
  return `global_defs {
  router_id ${c.routerId}
  vrrp_version 3
  script_user root
  enable_script_security
  # On becoming master: two gratuitous ARPs at once, two more a second later for caches that missed the first.
  vrrp_garp_master_delay 1
  vrrp_garp_master_repeat 2
}

vrrp_script chk_fanin_receiver {
  script "/usr/bin/curl -fsS -o /dev/null --max-time 1 ${c.healthUrl}"
  interval ${c.checkIntervalS}
  timeout 2
  fall 1
  rise 2
}

${
  c.stateFile === null
    ? ''
    : `track_file receiver_exited {
  file "${c.stateFile}"
}

`
}vrrp_instance fanin_syslog {
  state BACKUP
  nopreempt
  interface ${c.iface}
  virtual_router_id ${c.virtualRouterId}
  priority ${c.priority}
  advert_int ${c.advertIntervalS}
  unicast_src_ip ${c.selfAddress}
  unicast_peer {
    ${c.peerAddress}
  }
  virtual_ipaddress {
    ${c.vip}/${c.prefixLength} dev ${c.iface}
  }
  track_script {
    chk_fanin_receiver
  }
${
  c.stateFile === null
    ? ''
    : `  track_file {
    receiver_exited weight 0
  }
`
}}
`;
}

/** keepalived (VRRP only, in the foreground) inside a network namespace, with its own pid files and log. */
export class NetnsKeepalived {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly netns: string,
    private readonly name: string,
    private readonly workDir: string,
  ) {}

  get configPath(): string {
    return join(this.workDir, `keepalived-${this.name}.conf`);
  }
  get logPath(): string {
    return join(this.workDir, `keepalived-${this.name}.log`);
  }

  start(config: string): void {
    writeFileSync(this.configPath, config, { mode: 0o644 });
    const log = openSync(this.logPath, 'a');
    const pid = (what: string) => join(this.workDir, `keepalived-${this.name}.${what}.pid`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.netns,
        'keepalived',
        '--dont-fork',
        '--log-console',
        '--log-detail',
        '--vrrp',
        '--no-syslog',
        '--use-file',
        this.configPath,
        '--pid',
        pid('main'),
        '--vrrp_pid',
        pid('vrrp'),
        '--checkers_pid',
        pid('checkers'),
      ],
      {
        stdio: ['ignore', log, log],
        detached: true,
      },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child)
          note(`keepalived ${this.name} exited (${signal ?? `code ${code}`}); see ${this.logPath}`);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (keepalived removes its VIP and stops its VRRP child), SIGKILL to the process group after the bound. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child?.pid || !this.running) return;
    this.child = null;
    child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await this.exited;
    }
  }
}
