/**
 * Error classes shared by every layer. Each carries a stable `code` (`ERR_…`) that callers can
 * switch on; messages say what happened and what to do about it. A command quoted in an error
 * (message, `command`, `lines`) has its secret arguments masked (`AT+CSTT="apn","user","***"`):
 * errors get logged and shown, and an APN password or PIN must not go with them.
 */
import { redactLine } from './trace.js';

/** Base class of every error this package throws or rejects with. */
export class Air780Error extends Error {
  /** Stable machine-readable code, e.g. `ERR_AT_TIMEOUT`. Never changes once released. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** A command got no final result within its timeout (`ERR_AT_TIMEOUT`). */
export class AtTimeoutError extends Air780Error {
  readonly command: string;
  readonly timeoutMs: number;
  /** Information lines received before the timeout. */
  readonly lines: readonly string[];

  constructor(command: string, timeoutMs: number, lines: readonly string[] = [], detail?: string) {
    command = redactLine(command);
    super(
      'ERR_AT_TIMEOUT',
      `${command}: no final result within ${timeoutMs} ms${detail ? ` (${detail})` : ''}. ` +
        'Check that the module is powered and on this port, or raise timeoutMs for slow commands.',
    );
    this.command = command;
    this.timeoutMs = timeoutMs;
    this.lines = lines.map(redactLine);
  }
}

/**
 * The module answered with an error final result: `+CME ERROR: <n>` (code `ERR_CME`, with
 * {@link cme} and its {@link meaning} from the manual's table) or `ERROR`, `SEND FAIL`,
 * `+CMS ERROR: …` (code `ERR_AT_ERROR`).
 */
export class AtCommandError extends Air780Error {
  readonly command: string;
  /** The final result line as received, e.g. `+CME ERROR: 3`. */
  readonly final: string;
  /** Numeric CME code, when the final was `+CME ERROR: <n>`. */
  readonly cme?: number;
  /** Meaning of the CME code (manual §3.15), or the verbose text of a `+CME ERROR: <text>`. */
  readonly meaning?: string;
  /** Information lines received before the final result. */
  readonly lines: readonly string[];

  constructor(
    command: string,
    final: string,
    info: { cme?: number; meaning?: string; lines?: readonly string[] } = {},
  ) {
    command = redactLine(command);
    const isCme = info.cme !== undefined;
    const what = isCme ? `+CME ERROR ${info.cme}${info.meaning ? ` (${info.meaning})` : ''}` : final;
    super(
      isCme ? 'ERR_CME' : 'ERR_AT_ERROR',
      `${command} failed: ${what}. ` +
        (info.cme === 3
          ? 'The module is in the wrong state for this command (e.g. link not open, bearer already set up): check AT+CIPSTATUS.'
          : 'Check the command syntax and the module state.'),
    );
    this.command = command;
    this.final = final;
    if (info.cme !== undefined) this.cme = info.cme;
    if (info.meaning !== undefined) this.meaning = info.meaning;
    this.lines = (info.lines ?? []).map(redactLine);
  }
}

/**
 * The command in flight was given up before its final result because the module can no longer
 * answer it (it restarted: `RDY`) — `ERR_AT_ABANDONED`. Waiting for its timeout would only hold up
 * every command behind it; a late answer, should one still come, is discarded.
 */
export class AtAbandonedError extends Air780Error {
  readonly command: string;

  constructor(command: string, reason: string) {
    command = redactLine(command);
    super(
      'ERR_AT_ABANDONED',
      `${command}: abandoned before its final result (${reason}). Send it again once the module is back.`,
    );
    this.command = command;
  }
}

/**
 * The binary block of the command in flight (`+CIPRXGET: 2,…` data) was cut: its bytes stopped
 * arriving part-way, or did not end where announced (`ERR_AT_BLOCK_CUT`). None of it is returned;
 * the command's late final, should it come, is discarded.
 */
export class AtBlockCutError extends Air780Error {
  readonly command: string;
  /** `silence`: the module stopped writing mid-block (reset?); `misaligned`: bytes lost or added on the line. */
  readonly reason: 'silence' | 'misaligned';

  constructor(command: string, reason: 'silence' | 'misaligned') {
    command = redactLine(command);
    super(
      'ERR_AT_BLOCK_CUT',
      reason === 'silence'
        ? `${command}: its data stopped arriving part-way (the module reset, or the line went dead); nothing of it was kept. Check the module's power supply and wiring.`
        : `${command}: its data did not end where announced (bytes were lost or added on the serial line); nothing of it was kept. Check the wiring, cable length and baud rate.`,
    );
    this.command = command;
    this.reason = reason;
  }
}

/** The channel was closed, or its stream ended or failed, before the command finished (`ERR_AT_CLOSED`). */
export class AtClosedError extends Air780Error {
  constructor(message = 'The AT channel is closed. Open a new channel (or Modem) to continue.', cause?: unknown) {
    super('ERR_AT_CLOSED', message, { cause });
  }
}

/** The caller's AbortSignal fired (`ERR_ABORTED`). */
export class AbortedError extends Air780Error {
  constructor(what: string, cause?: unknown) {
    super('ERR_ABORTED', `${redactLine(what)} was aborted by its AbortSignal.`, { cause });
  }
}

/** An argument was refused before anything was written (`ERR_BAD_ARGUMENT`). */
export class BadArgumentError extends Air780Error {
  /** Name of the offending argument, e.g. `host`, `apn`, `command`. */
  readonly argument: string;

  constructor(argument: string, message: string) {
    super('ERR_BAD_ARGUMENT', message);
    this.argument = argument;
  }
}

/**
 * `+CME ERROR` meanings from the manual's table (§3.15, Cat.1 column), for the codes that can
 * show up on the socket path. Unknown codes get no meaning rather than a guessed one.
 */
export const CME_ERRORS: Readonly<Record<number, string>> = Object.freeze({
  0: 'phone failure',
  1: 'no connection to phone',
  3: 'operation not allowed',
  4: 'operation not supported',
  5: 'PH-SIM PIN required',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  13: 'SIM failure',
  14: 'SIM busy',
  15: 'SIM wrong',
  16: 'incorrect password',
  20: 'memory full',
  21: 'invalid index',
  22: 'not found',
  23: 'memory failure',
  30: 'no network service',
  31: 'network timeout',
  50: 'execution failed (EXE_FAIL)',
  51: 'no memory',
  52: 'option not supported',
  53: 'parameters are invalid',
  58: 'invalid command line',
  100: 'unknown error',
  901: 'PDP not active',
  902: 'PDP already active',
  910: 'TCP connection rejected',
  911: 'TCP connect timeout',
  912: 'socket connection exists',
  913: 'socket connection does not exist',
  914: 'buffer over size',
  915: 'sending timeout',
  916: 'DNS exists',
  917: 'DNS parse timeout',
  918: 'DNS parse error',
  65535: 'other error',
});

/** Meaning of a CME code, or undefined when the manual's table has none. */
export function cmeMeaning(code: number): string | undefined {
  return CME_ERRORS[code];
}
