import { settings } from './settings.js';

/**
 * docs/configuration.md, generated from the settings table so the reference cannot drift from the validator:
 * `node scripts/settings-doc.mjs` writes it, and a test fails when the file differs from this text.
 */
const HEADER = `# Configuration

<!-- Generated from shared/config/settings.ts and uploader/<type>-sink/settings.ts by \`npm run build && node scripts/settings-doc.mjs\`; do not edit by hand. -->

Every process (\`fanin receiver\`, \`fanin worker\`, \`fanin uploader\`, and each member of \`fanin up\`) reads the same
settings, in this order, each overriding the one before:

1. the defaults below;
2. a JSON file, given with \`--config FILE\` or \`FANIN_CONFIG\`, keys nested as in the first column
   (\`{"receiver": {"id": "a", "spool": {"dir": "/var/lib/fanin/spool"}}}\`);
3. environment variables (second column), the way compose and systemd set them; an empty variable counts as unset.

Everything is validated at start-up, before anything listens or connects; an error names the key and the variable,
and an unknown key in the file is an error. \`fanin settings\` prints the same table in a terminal. Named sinks
(\`sinkDefinitions\`) take the options of their type's \`uploader.<type>Sink.*\` block without the prefix: see
[sinks.md](sinks.md).

One Node.js flag matters for throughput: \`--max-semi-space-size=32\` (a larger young generation for fanin's
short-lived per-event objects). \`fanin up\` gives it to its children and the image sets it in \`NODE_OPTIONS\`; when
you run \`fanin receiver|worker|uploader\` yourself, set \`NODE_OPTIONS=--max-semi-space-size=32\`.

Settings that must agree across the fleet: \`namespace\`, \`sinks\` (every process declares every sink's queue, see
[sinks.md](sinks.md)), \`worker.dedupWindowSeconds\` and \`worker.dedupPartitions\` (every worker), and
\`receiver.hashSourceAddress\` (every receiver, or copies get different keys). \`receiver.id\` must differ on every
receiver ([receiver-id.md](receiver-id.md)).

| key (config file) | environment variable | default | meaning |
|---|---|---|---|
`;

/** One table row; a literal `|` inside a cell is escaped so the Markdown table keeps its columns. */
export function settingsTableRows(): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return Object.values(settings).map(
    (s) => `| \`${s.key}\` | \`${s.env}\` | \`${cell(JSON.stringify(s.default))}\` | ${cell(s.doc)} |`,
  );
}

export function configurationMarkdown(): string {
  return HEADER + settingsTableRows().join('\n') + '\n';
}
