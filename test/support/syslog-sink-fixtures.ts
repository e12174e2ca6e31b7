import type { ProcessedBatch } from '../../shared/batch-codec.js';
import { encodeSyslogFrame } from '../../receiver/syslog-event.js';
import { syslogSinkSettingSpecs, type SyslogSinkSettings } from '../../uploader/syslog-sink/settings.js';

/** The syslog sink's settings at their defaults, with `over` laid on top. */
export function syslogSinkSettings(over: Partial<SyslogSinkSettings> = {}): SyslogSinkSettings {
  const defaults = Object.fromEntries(
    Object.entries(syslogSinkSettingSpecs).map(([name, s]) => [name, s.default]),
  ) as unknown as SyslogSinkSettings;
  return { ...defaults, ...over };
}

/**
 * Lines as a receiver encodes them (receiver/syslog-event.ts), with or without their raw bytes, in one processed
 * batch with ids `<prefix>-<n>`: the bodies a sink reads are then exactly the ones a real receiver writes.
 */
export function syslogLineBatch(
  prefix: string,
  lines: readonly Buffer[],
  keepRaw = true,
  transport: 'tcp' | 'udp' = 'tcp',
): ProcessedBatch {
  const now = new Date(1_796_000_000_000);
  return {
    sourceBatchId: `${prefix}:boot:1`,
    ids: lines.map((_, n) => `${prefix}-${n}`),
    bodies: lines.map(
      (line) =>
        encodeSyslogFrame(
          line,
          { receiverId: 'a', source: '192.0.2.7', transport, hashSourceAddress: true, keepRaw },
          now,
        ).body,
    ),
  };
}
