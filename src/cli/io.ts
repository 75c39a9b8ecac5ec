/**
 * Where the command writes: messages and results to stdout, status and events to stderr, so that
 * `air780 ws ... > messages.txt` captures only the messages.
 */
import { formatWithOptions } from 'node:util';
import createDebug from 'debug';
import { Air780Error } from '../at/errors.js';
import { UsageError } from './errors.js';
import { redactSecrets, terminalText } from './format.js';

/** The streams a command writes to (injectable so commands stay testable in-process). */
export interface Io {
  out(text: string): void;
  /** One status line on stderr. */
  status(line: string): void;
  /** Detail shown only with --verbose. */
  detail(line: string): void;
  verbose: boolean;
}

/**
 * Stdout as written; stderr (status, details) with secrets masked ({@link redactSecrets}): library
 * messages quote AT commands and URLs, and an APN password or a token must not reach a terminal,
 * a CI log or a bug report. Stderr lines also have control characters escaped
 * ({@link terminalText}): they quote what servers and modules sent (a close reason, an HTTP status
 * text), which must not drive the terminal.
 */
export function processIo(verbose: boolean): Io {
  return {
    out: (text) => void process.stdout.write(text),
    status: (line) => void process.stderr.write(`${terminalText(redactSecrets(line))}\n`),
    detail: (line) => {
      if (verbose) process.stderr.write(`${terminalText(redactSecrets(line))}\n`);
    },
    verbose,
  };
}

/**
 * Debug traces (--verbose) with secrets masked like stderr: the layers redact what they trace
 * themselves, but some log an error's message, which can quote a command with its password.
 */
export function redactTraces(): void {
  createDebug.log = (...args: unknown[]): void => {
    // The first argument is debug's own prefix and format (colour escapes on a terminal); the
    // values after it may quote a peer, and are made inert.
    const values = args.map((a, i) => (i > 0 && typeof a === 'string' ? terminalText(a) : a));
    process.stderr.write(`${redactSecrets(formatWithOptions({ colors: process.stderr.isTTY === true }, ...values))}\n`);
  };
}

/** What to try next, by error code, when the error itself carries no hint. */
const HINTS: Record<string, string> = {
  ERR_AT_TIMEOUT: "is the module powered and is this its AT port? 'air780 ports --probe' shows which port answers",
  ERR_AT_CLOSED: 'the serial port closed: check the cable, or whether another program (ModemManager) holds the port',
  ERR_CME: 'see the +CME code in docs; --verbose shows the AT exchange',
  ERR_WS_HANDSHAKE: 'check the URL path and that the server speaks websocket (--verbose shows the response)',
  ENOENT: "no such port: 'air780 ports' lists the serial ports",
  EACCES:
    'permission denied on the port: add yourself to the dialout group (sudo usermod -aG dialout $USER) and log in again',
  ECONNREFUSED: 'nothing listens at that address',
};

/**
 * The library's advice names API options (`pass { path }`, the `ca` option,
 * `{ rejectUnauthorized: false }`); on the command line the same advice is a flag. Longest
 * phrases first, so a sentence is rewritten as a whole before its parts are.
 */
const CLI_WORDING: Array<[RegExp, string]> = [
  [/Pass the CA that signed it as the `ca` option/g, 'Pass the CA that signed it with --ca FILE'],
  [
    /pass \{ ca \} to verify the server, or \{ rejectUnauthorized: false \} to connect without verification/g,
    'pass --ca FILE to verify the server, or --insecure to connect without verification',
  ],
  [/pass \{ path \}/g, 'pass --port PATH'],
  [/the `ca` option/g, '--ca FILE'],
  [/\{ ca \}/g, '--ca FILE'],
  [/\{ ?rejectUnauthorized: false ?\}|rejectUnauthorized: false/g, '--insecure'],
  [/\{ path \}/g, '--port PATH'],
  [/\{ apn \}/g, '--apn APN'],
  [/\{ baudRate \}/g, '--baud N'],
];

/** A library message in command-line terms: API options named as the flags that set them. */
export function cliWording(text: string): string {
  let out = text;
  for (const [re, flag] of CLI_WORDING) out = out.replace(re, flag);
  return out;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Formats any error as the one line (plus hint) the user sees; the exit status is returned. */
export function reportError(err: unknown, io: Pick<Io, 'status' | 'detail' | 'verbose'>): number {
  const usage = err instanceof UsageError;
  const message = err instanceof Error ? err.message : String(err);
  const code = codeOf(err);
  const ownHint = (err as { hint?: unknown } | null)?.hint;
  const hint = typeof ownHint === 'string' ? redactSecrets(ownHint) : code ? HINTS[code] : undefined;
  // Errors quote the command they were about, which can hold the APN password (AT+CSTT=...).
  const firstLine = cliWording(redactSecrets(message.split('\n', 1)[0]!));
  io.status(`air780: ${firstLine}${code && !usage && !(err instanceof Air780Error) ? ` (${code})` : ''}`);
  if (hint) io.status(`  hint: ${cliWording(hint)}`);
  if (io.verbose) {
    let cause: unknown = err;
    while (cause instanceof Error) {
      if (cause.stack) io.detail(redactSecrets(cause.stack));
      cause = cause.cause;
      if (cause !== undefined) io.detail('caused by:');
    }
  } else if (!usage) {
    io.status('  (--verbose shows details and AT traces)');
  }
  return usage ? 2 : 1;
}
