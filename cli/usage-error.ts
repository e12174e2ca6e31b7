/** A wrong command line (exit 2): the message says what is wrong; `command` picks the usage printed after it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE_INVALID';
  constructor(
    message: string,
    readonly command: string | null = null,
  ) {
    super(message);
  }
}
