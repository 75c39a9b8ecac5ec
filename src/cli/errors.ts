/**
 * Errors the command itself raises, and how any error becomes one line on stderr.
 */

/** Bad command line: exit status 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command reports with a hint (exit status 1). */
export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}
