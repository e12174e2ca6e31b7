import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FORWARD_ERRORS, ForwardError } from '../../../receiver/forward/forward-errors.js';
import { RELP_ERRORS, RelpError } from '../../../receiver/inputs/relp-errors.js';
import { SpoolFullError } from '../../../receiver/spool/spool-journal.js';
import { FrameTooLargeError } from '../../../receiver/syslog/frame-decoder.js';
import { BatchDecodeError } from '../../../shared/batch-codec.js';
import { ConfigError } from '../../../shared/config/config-error.js';
import { DISPOSITIONS, type ErrorWithDisposition } from '../../../shared/errors/disposition.js';
import { FORWARD_FAILURES, ForwardSendError } from '../../../uploader/forward-sink/forward-errors.js';
import { HttpSinkRetryableError } from '../../../uploader/http-sink/http-sink.js';
import { PermanentSinkError } from '../../../uploader/sink.js';
import { SYSLOG_FAILURES, SyslogSendError } from '../../../uploader/syslog-sink/syslog-errors.js';

/** docs/errors.md: every code and its disposition, as operators read them. */
const PAGE = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

/** One instance of every error class with a disposition, and the disposition docs/errors.md gives it. */
const ERRORS: [ErrorWithDisposition, string][] = [
  [new FrameTooLargeError(null, 10), 'close'],
  [new SpoolFullError('full'), 'retry'],
  [new BatchDecodeError('bad'), 'dead-letter'],
  [new ConfigError(['bad']), 'fatal'],
  [new PermanentSinkError('refused'), 'dead-letter'],
  [new HttpSinkRetryableError('503'), 'retry'],
  ...Object.keys(FORWARD_ERRORS).map(
    (c) =>
      [new ForwardError(c as keyof typeof FORWARD_ERRORS, 'x'), c === 'NIL_RECORD' ? 'continue' : 'close'] as [
        ErrorWithDisposition,
        string,
      ],
  ),
  ...Object.keys(RELP_ERRORS).map(
    (c) =>
      [new RelpError(c as keyof typeof RELP_ERRORS, 'x'), c === 'UNKNOWN_COMMAND' ? 'continue' : 'close'] as [
        ErrorWithDisposition,
        string,
      ],
  ),
  ...Object.keys(FORWARD_FAILURES).map(
    (c) => [new ForwardSendError(c as keyof typeof FORWARD_FAILURES, 'x'), 'retry'] as [ErrorWithDisposition, string],
  ),
  ...Object.keys(SYSLOG_FAILURES).map(
    (c) => [new SyslogSendError(c as keyof typeof SYSLOG_FAILURES, 'x'), 'retry'] as [ErrorWithDisposition, string],
  ),
];

describe('error catalogues', () => {
  it('give every error a stable code and one of the five dispositions, the one docs/errors.md states', () => {
    for (const [err, documented] of ERRORS) {
      assert.match(err.code, /^[A-Z][A-Z0-9_]+$/, `${err.constructor.name} code`);
      assert.ok(DISPOSITIONS.includes(err.disposition), `${err.code}: ${err.disposition}`);
      assert.equal(err.disposition, documented, err.code);
    }
  });

  it('are all documented: every code appears in docs/errors.md next to a disposition that exists', () => {
    for (const [err] of ERRORS) assert.ok(PAGE.includes(`\`${err.code}\``), `docs/errors.md names ${err.code}`);
    for (const row of PAGE.split('\n').filter(
      (l) => l.startsWith('| `') && !l.startsWith('| `continue') && !/^\| `(close|dead-letter|retry|fatal)` \|/.test(l),
    )) {
      const cells = row.split(' | ');
      assert.ok(
        DISPOSITIONS.some((d) => cells[2]?.startsWith(`\`${d}\``)),
        `a disposition in: ${row.slice(0, 80)}`,
      );
    }
  });
});
