/**
 * Errors the command itself raises. Both carry a `hint`: the one thing to try next, printed after
 * the message.
 */
import { Air780Error } from '../at/errors.js';

/** Bad command line (`ERR_USAGE`): exit status 2. */
export class UsageError extends Air780Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super('ERR_USAGE', message);
  }
}

/** A failure the command reports with a hint (exit status 1). */
export class CliError extends Air780Error {
  constructor(
    code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
