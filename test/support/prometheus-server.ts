import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../testkit/free-ports.js';
import { waitFor } from '../../testkit/services.js';

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly string[];
  readonly metricsPath?: string;
}

export interface QueryResult {
  readonly status: 'success' | 'error';
  readonly error?: string;
  readonly data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export interface RuleState {
  readonly name: string;
  readonly query: string;
  readonly type: 'alerting' | 'recording';
  readonly health: string;
  readonly lastError?: string;
  readonly state?: string;
}

/**
 * Debian's Prometheus (binary `prometheus`) on a free loopback port with a private config and TSDB in a temp dir,
 * scraping every second and evaluating rules every second.
 */
export class PrometheusServer {
  private readonly dir = mkdtempSync(join(tmpdir(), 'fanin-prom-'));
  private child: ChildProcess | null = null;
  private port = 0;
  log = '';

  constructor(
    private readonly jobs: readonly ScrapeJob[],
    private readonly ruleFiles: readonly string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = (await freePorts(1))[0]!;
    // JSON is YAML: no YAML library needed.
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: this.ruleFiles,
      scrape_configs: this.jobs.map((j) => ({
        job_name: j.job,
        ...(j.metricsPath ? { metrics_path: j.metricsPath } : {}),
        static_configs: [{ targets: j.targets }],
      })),
    };
    const configFile = join(this.dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(new Error(`cannot run Debian's prometheus (apt-get install prometheus): ${err.message}`)),
      );
    });
    await spawned;
    await waitFor(
      'prometheus ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${this.log}`);
        const r = await fetch(`${this.url}/-/ready`);
        return r.ok ? true : undefined;
      },
      30_000,
      200,
    );
  }

  async query(expr: string): Promise<QueryResult> {
    const r = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }),
      signal: AbortSignal.timeout(10_000),
    });
    return (await r.json()) as QueryResult;
  }

  /** Every loaded rule with its health and last evaluation error. */
  async rules(): Promise<RuleState[]> {
    const r = await fetch(`${this.url}/api/v1/rules`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as { data: { groups: { rules: RuleState[] }[] } };
    return body.data.groups.flatMap((g) => g.rules);
  }

  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const r = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
