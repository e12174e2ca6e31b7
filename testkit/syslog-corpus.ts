// The syslog corpus (test/fixtures/syslog/corpus.jsonl): real-world lines with the fields fanin must read from
// them. Shared by the corpus test, the rsyslog comparison, the fuzzer's seeds and the parse benchmark.

import { readFileSync } from 'node:fs';
import type { SyslogParseOptions } from '../receiver/syslog/parse-syslog.js';
import type { StructuredData, SyslogMessage } from '../receiver/syslog/syslog-message.js';

/** The receive time every corpus line is parsed at, unless its entry says otherwise (year inference needs one). */
export const CORPUS_NOW = '2026-01-15T12:00:00Z';
/** The process zone for entries whose rfc3164TimeZone is 'local' (the test sets TZ for them). */
export const CORPUS_LOCAL_TZ = 'Asia/Kolkata';

/** A SyslogMessage as the corpus writes it: `structuredData` present only when the line carries STRUCTURED-DATA. */
export type ExpectedParse = Omit<SyslogMessage, 'structuredData'> & { structuredData?: StructuredData };

export interface CorpusEntry {
  /** Sender or device family. */
  vendor: string;
  /** Where the line comes from: a repository and path, a capture on a named host, or a documented shape. */
  source: string;
  /** The frame as UTF-8 text; lineBase64 instead when it is not valid UTF-8. */
  line?: string;
  lineBase64?: string;
  options?: { now?: string; rfc3164TimeZone?: string };
  /** What fanin must read; format 'raw' with the error code for a line that is not syslog. */
  expect: ExpectedParse | { format: 'raw'; error: string };
}

const CORPUS_PATH = new URL('../../test/fixtures/syslog/corpus.jsonl', import.meta.url);

export function loadCorpus(): CorpusEntry[] {
  return readFileSync(CORPUS_PATH, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CorpusEntry);
}

export function entryBytes(entry: CorpusEntry): Buffer {
  if (entry.lineBase64 !== undefined) return Buffer.from(entry.lineBase64, 'base64');
  if (entry.line === undefined) throw new Error(`corpus entry from ${entry.source} has neither line nor lineBase64`);
  return Buffer.from(entry.line, 'utf8');
}

export function entryOptions(entry: CorpusEntry): SyslogParseOptions {
  return {
    now: new Date(entry.options?.now ?? CORPUS_NOW),
    rfc3164TimeZone: entry.options?.rfc3164TimeZone,
  };
}
