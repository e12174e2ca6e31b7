// The parsers the parse benchmark compares, each behind one shape: a function from a line to the fields every
// parser reports (facility, severity, time, hostname, app name, message).
//
// fanin parses the Buffer a socket gives it; the npm parsers take strings, so they get the line already decoded
// (their decode cost is left out, which favours them).

import { createRequire } from 'node:module';
import { parseSyslog } from '../../receiver/syslog/parse-syslog.js';
import { CORPUS_NOW, entryBytes, loadCorpus, type CorpusEntry } from '../../testkit/syslog-corpus.js';

export interface CommonFields {
  facility: number | null;
  severity: number | null;
  timeMs: number | null;
  hostname: string | null;
  appName: string | null;
  message: string | null;
}

export interface BenchParser {
  name: string;
  version: string;
  /** Parses one corpus line; `now` is the receive time for parsers that take one. */
  parse(bytes: Buffer, text: string, now: Date): unknown;
  /** Normalises what parse() returned for the line `text`. Not timed. */
  fields(result: unknown, text: string): CommonFields;
}

const require = createRequire(import.meta.url);

interface NsyslogEntry {
  facilityval?: number;
  levelval?: number;
  ts?: Date;
  host?: string;
  appName?: string;
  message?: string;
  err?: unknown;
}
interface GlossyEntry {
  facilityID?: number;
  severityID?: number;
  time?: Date | false;
  host?: string | null;
  appName?: string | null;
  message?: string;
}

const nsyslog = require('nsyslog-parser') as (line: string, opts?: Record<string, boolean>) => NsyslogEntry;
const glossy = (require('glossy') as { Parse: { parse(line: string): GlossyEntry } }).Parse;
// generateTimestamp:false so a line without a timestamp reports none instead of the parse time; fields:false
// skips its comma-split "fields" extraction, which none of the compared fields needs.
const NSYSLOG_OPTIONS = { generateTimestamp: false, fields: false, cef: false, leef: false };

function version(pkg: string): string {
  return (require(`${pkg}/package.json`) as { version: string }).version;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function dateMs(v: unknown): number | null {
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v.getTime() : null;
}

export const PARSERS: BenchParser[] = [
  {
    name: 'fanin',
    version: (require('../../../package.json') as { version: string }).version,
    parse: (bytes, _text, now) => parseSyslog(bytes, { now }),
    fields(result, text) {
      const r = result as ReturnType<typeof parseSyslog>;
      // A line that is not syslog travels as format 'raw' with its whole text as message (syslog-event.ts).
      if (!r.ok) return { facility: null, severity: null, timeMs: null, hostname: null, appName: null, message: text };
      const m = r.message;
      return {
        facility: m.facility,
        severity: m.severity,
        timeMs: m.time === null ? null : Date.parse(m.time),
        hostname: m.hostname,
        appName: m.appName,
        message: m.message,
      };
    },
  },
  {
    name: 'nsyslog-parser',
    version: version('nsyslog-parser'),
    parse: (_bytes, text) => nsyslog(text, NSYSLOG_OPTIONS),
    fields(result) {
      const e = result as NsyslogEntry;
      return {
        facility: num(e.facilityval),
        severity: num(e.levelval),
        timeMs: dateMs(e.ts),
        hostname: str(e.host),
        appName: str(e.appName),
        message: typeof e.message === 'string' ? e.message : null,
      };
    },
  },
  {
    name: 'glossy',
    version: version('glossy'),
    parse: (_bytes, text) => glossy.parse(text),
    fields(result) {
      const e = result as GlossyEntry;
      return {
        facility: num(e.facilityID),
        severity: num(e.severityID),
        timeMs: dateMs(e.time),
        hostname: str(e.host),
        appName: str(e.appName),
        message: typeof e.message === 'string' ? e.message : null,
      };
    },
  },
];

/** One corpus line as the parse benchmarks feed it: the bytes for fanin, the decoded text for the npm parsers. */
export interface BenchLine {
  entry: CorpusEntry;
  bytes: Buffer;
  text: string;
  now: Date;
}

/** The corpus lines every parser here runs on with its defaults. */
export function benchLines(): BenchLine[] {
  return (
    loadCorpus()
      // Entries that need a zone option are about that option; every parser here runs with its defaults.
      .filter((entry) => entry.options?.rfc3164TimeZone === undefined)
      .map((entry) => {
        const bytes = entryBytes(entry);
        return { entry, bytes, text: bytes.toString('utf8'), now: new Date(entry.options?.now ?? CORPUS_NOW) };
      })
  );
}
