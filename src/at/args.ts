/**
 * Safe encoding of command arguments. Everything that ends up between quotes in a command is
 * checked here, so that no value can close the quotes, end the command line or inject another
 * command. Refusals happen before anything is written.
 */
import { isIP } from 'node:net';
import { BadArgumentError } from './errors.js';

/** Length limits from the manual: host and APN ≤128 bytes, user and password ≤32. */
export const AT_LIMITS = Object.freeze({
  host: 128,
  apn: 128,
  user: 32,
  password: 32,
  /** Not stated in the manual; generous for the module's flat file system. */
  fileName: 64,
  /** Longest command line accepted by {@link assertCommand}. */
  command: 2048,
});

/** How a string argument is checked and quoted for an AT command line. */
export interface AtStringOptions {
  /** Argument name used in error messages (`apn`, `user`, …). */
  name: string;
  /** Maximum length in bytes. */
  maxLength: number;
  /** Refuse the empty string. Default false. */
  nonEmpty?: boolean;
}

/** Index of the first byte that may not appear inside a quoted AT string, or -1. */
function firstBadChar(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // Control bytes (incl. CR, LF, NUL, ESC, Ctrl-Z), DEL, the quote, and anything non-ASCII:
    // the module's parser is byte-oriented ASCII.
    if (c < 0x20 || c === 0x22 || c >= 0x7f) return i;
  }
  return -1;
}

function describe(c: number): string {
  if (c === 0x22) return 'a double quote';
  if (c === 0x0d) return 'a CR';
  if (c === 0x0a) return 'an LF';
  if (c === 0x00) return 'a NUL';
  if (c < 0x20 || c === 0x7f) return `the control byte 0x${c.toString(16).padStart(2, '0')}`;
  return `the non-ASCII character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Quote a string argument: `atString('cmnet', { name: 'apn', maxLength: 128 })` → `"cmnet"`.
 * Throws {@link BadArgumentError} for a non-string, an over-long value, or one holding `"`,
 * control bytes (CR, LF, NUL, …) or non-ASCII characters.
 */
export function atString(value: unknown, options: AtStringOptions): string {
  const { name, maxLength } = options;
  if (typeof value !== 'string') {
    throw new BadArgumentError(name, `${name} must be a string, got ${typeof value}.`);
  }
  if (options.nonEmpty && value.length === 0) {
    throw new BadArgumentError(name, `${name} must not be empty.`);
  }
  const bad = firstBadChar(value);
  if (bad >= 0) {
    throw new BadArgumentError(
      name,
      `${name} holds ${describe(value.charCodeAt(bad))} at offset ${bad}; AT strings may only hold printable ASCII without '"'. Fix the value.`,
    );
  }
  if (value.length > maxLength) {
    throw new BadArgumentError(name, `${name} is ${value.length} bytes long; the module accepts at most ${maxLength}.`);
  }
  return `"${value}"`;
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Whether `host` is a DNS host name (RFC 1123 labels; `_` tolerated) or an IPv4/IPv6 literal. */
export function isValidHost(host: string): boolean {
  if (host.length === 0 || host.length > AT_LIMITS.host) return false;
  if (isIP(host) !== 0) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  // A dotted all-numeric name that is not a valid IPv4 literal (e.g. 999.1.1.1) is a typo.
  return !/^[\d.]+$/.test(name);
}

/**
 * Quote a host argument: a valid host name or IP literal (≤128 bytes), else
 * {@link BadArgumentError}.
 */
export function atHost(host: unknown, name = 'host'): string {
  if (typeof host !== 'string') {
    throw new BadArgumentError(name, `${name} must be a string, got ${typeof host}.`);
  }
  if (host.length > AT_LIMITS.host) {
    throw new BadArgumentError(
      name,
      `${name} is ${host.length} bytes long; the module accepts at most ${AT_LIMITS.host}.`,
    );
  }
  if (!isValidHost(host)) {
    const bad = firstBadChar(host);
    throw new BadArgumentError(
      name,
      `${name} ${JSON.stringify(host)} is not a valid host name or IP literal` +
        (bad >= 0 ? ` (it holds ${describe(host.charCodeAt(bad))})` : '') +
        '. Use a DNS name like example.com or an address like 192.0.2.1.',
    );
  }
  return `"${host}"`;
}

/** Format an integer argument within [min, max], else {@link BadArgumentError}. */
export function atInt(value: unknown, options: { name: string; min?: number; max?: number }): string {
  const { name } = options;
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new BadArgumentError(name, `${name} must be an integer, got ${String(value)}.`);
  }
  if (value < min || value > max) {
    throw new BadArgumentError(name, `${name} must be between ${min} and ${max}, got ${value}.`);
  }
  return String(value);
}

/** `"apn"` (≤128 bytes). */
export const atApn = (apn: unknown): string => atString(apn, { name: 'apn', maxLength: AT_LIMITS.apn });
/** `"user"` (≤32 bytes). */
export const atUser = (user: unknown): string => atString(user, { name: 'user', maxLength: AT_LIMITS.user });
/** `"password"` (≤32 bytes). */
export const atPassword = (password: unknown): string =>
  atString(password, { name: 'password', maxLength: AT_LIMITS.password });
/** `"file name"` (non-empty, no `/`, ≤64 bytes). */
export function atFileName(fileName: unknown): string {
  const quoted = atString(fileName, { name: 'fileName', maxLength: AT_LIMITS.fileName, nonEmpty: true });
  if ((fileName as string).includes('/')) {
    throw new BadArgumentError('fileName', 'fileName must not hold "/": the module has a flat file system.');
  }
  return quoted;
}

/**
 * Check a whole command line before it is written: non-empty, no CR / LF / NUL or other control
 * bytes (which would end it early and inject a second command), at most 2048 bytes.
 */
export function assertCommand(command: unknown): asserts command is string {
  if (typeof command !== 'string' || command.length === 0) {
    throw new BadArgumentError('command', 'command must be a non-empty string such as "AT+CSQ".');
  }
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new BadArgumentError(
        'command',
        `command holds ${describe(c)} at offset ${i}; pass one command without terminator (the channel adds it).`,
      );
    }
  }
  if (Buffer.byteLength(command) > AT_LIMITS.command) {
    throw new BadArgumentError('command', `command is longer than ${AT_LIMITS.command} bytes.`);
  }
}
