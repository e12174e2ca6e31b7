import { spawn } from 'node:child_process';

export interface SenderResult {
  readonly sent: number;
  readonly seconds: number;
}

/**
 * Runs `count` sender processes of `script` at once (each with EDGE_SENDER set to its index) and sums what they
 * report. Separate processes, so the receiver's event loop has a core of its own and the senders share the other.
 */
export async function runSenders(
  script: string,
  count: number,
  env: Readonly<Record<string, string>>,
): Promise<SenderResult> {
  const results = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<SenderResult>((resolve, reject) => {
          const child = spawn(process.execPath, [script], {
            stdio: ['ignore', 'pipe', 'inherit'],
            env: { PATH: process.env.PATH ?? '', ...env, EDGE_SENDER: String(i + 1) },
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.once('error', reject);
          child.once('exit', (code) => {
            if (code !== 0) reject(new Error(`sender ${script} exited with ${code}`));
            else resolve(JSON.parse(out.trim()) as SenderResult);
          });
        }),
    ),
  );
  return {
    sent: results.reduce((a, r) => a + r.sent, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
  };
}
