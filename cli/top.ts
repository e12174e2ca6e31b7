import { loadConfig } from '../shared/config/load-config.js';
import { parseCommandArgs } from './commands.js';
import { integerOption } from './option-values.js';
import { parsePrometheusText } from './prom-text.js';
import { computeView, fleetTotals, renderView, type FleetTotals, type TargetScrape } from './top-stats.js';
import { UsageError } from './usage-error.js';

/** The local fleet's metrics ports (docs/design.md §5): receivers a, b, workers 1, 2, the uploader. */
export const LOCAL_FLEET_METRICS_PORTS = [9601, 9602, 9611, 9612, 9621] as const;
/** RabbitMQ's Prometheus plugin: per-queue depths only, the cheap endpoint (RabbitMQ ≥ 3.10). */
export const DEFAULT_RABBITMQ_METRICS = 'http://127.0.0.1:15692/metrics/detailed?family=queue_coarse_metrics';

export interface TopOptions {
  readonly targets: readonly string[];
  readonly rabbitmq: string | null;
  readonly namespace: string;
  readonly intervalMs: number;
}

/** `host:port` or a URL; a bare host:port means its /metrics. */
export function targetUrl(target: string): string {
  if (/^https?:\/\//.test(target)) return target;
  return `http://${target}/metrics`;
}

export function parseTopArgs(argv: readonly string[]): TopOptions & { once: boolean; json: boolean } {
  const values = parseCommandArgs('top', argv) as {
    targets?: string;
    'port-offset'?: string;
    rabbitmq?: string;
    interval?: string;
    once?: boolean;
    json?: boolean;
    config?: string;
  };
  const offset = integerOption(
    'port-offset',
    values['port-offset'],
    0,
    0,
    65535 - Math.max(...LOCAL_FLEET_METRICS_PORTS),
    'top',
  );
  const intervalMs = integerOption('interval', values.interval, 1000, 100, 60_000, 'top');
  const targets =
    values.targets !== undefined
      ? values.targets
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
      : LOCAL_FLEET_METRICS_PORTS.map((p) => `127.0.0.1:${p + offset}`);
  if (targets.length === 0) throw new UsageError('--targets: give host:port[,host:port…] or URLs', 'top');
  const rabbitmq = values.rabbitmq === 'none' ? null : (values.rabbitmq ?? DEFAULT_RABBITMQ_METRICS);
  if (values.json && !values.once) throw new UsageError('--json: only with --once', 'top');
  const namespace = loadConfig({ file: values.config }).namespace;
  return {
    targets: targets.map(targetUrl),
    rabbitmq,
    namespace,
    intervalMs,
    once: values.once ?? false,
    json: values.json ?? false,
  };
}

async function scrape(url: string, timeoutMs: number): Promise<TargetScrape> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { url, samples: null, error: `HTTP ${res.status}` };
    return { url, samples: parsePrometheusText(await res.text()) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { url, samples: null, error: e.cause?.code ?? e.name };
  }
}

/**
 * One round: every target and RabbitMQ at once, each bounded (at least 2 s: a busy process may answer slowly; a
 * slow round only delays the next frame).
 */
export async function scrapeFleet(options: TopOptions): Promise<FleetTotals> {
  const timeoutMs = Math.min(Math.max(options.intervalMs, 2000), 5000);
  const urls = options.rabbitmq ? [...options.targets, options.rabbitmq] : options.targets;
  const scrapes = await Promise.all(urls.map((u) => scrape(u, timeoutMs)));
  return fleetTotals(scrapes, options.namespace, Date.now());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `fanin top`: 0 on a normal exit; --once: 1 when no target answered. */
export async function runTop(argv: readonly string[]): Promise<number> {
  const options = parseTopArgs(argv);
  const out = process.stdout;
  if (options.once) {
    const first = await scrapeFleet(options);
    await sleep(options.intervalMs);
    const view = computeView(first, await scrapeFleet(options));
    out.write(
      options.json
        ? JSON.stringify({ namespace: options.namespace, ...view }, null, 2) + '\n'
        : renderView(view, options.namespace),
    );
    return view.targets.some((t) => t.up) ? 0 : 1;
  }
  return live(options);
}

/** Redraws every interval on the alternate screen until q, Ctrl-C, SIGINT or SIGTERM. */
async function live(options: TopOptions): Promise<number> {
  const out = process.stdout;
  const stdin = process.stdin;
  let quit = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    quit = true;
    wake?.();
  };
  const onKey = (key: Buffer) => {
    const k = key.toString();
    if (k === 'q' || k === 'Q' || k === '\u0003') stop();
  };
  const tty = stdin.isTTY;
  if (tty) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
  }
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (out.isTTY) out.write('\x1b[?1049h\x1b[?25l');
  try {
    let previous: FleetTotals | null = null;
    while (!quit) {
      const started = Date.now();
      const current = await scrapeFleet(options);
      if (quit) break;
      const frame = renderView(computeView(previous, current), options.namespace) + '\nq quits\n';
      out.write(out.isTTY ? `\x1b[H\x1b[2J${frame}` : `${frame}\n`);
      previous = current;
      const wait = Math.max(0, options.intervalMs - (Date.now() - started));
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = null;
    }
  } finally {
    if (out.isTTY) out.write('\x1b[?25h\x1b[?1049l');
    if (tty) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
