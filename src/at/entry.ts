/** One command of the AT channel, from `send()` to its answer: what it carries and how far it got. */
import { assertCommand } from './args.js';
import { BadArgumentError } from './errors.js';
import type { FinalMatcher } from './finals.js';
import type { AtResponse, AtSendOptions } from './types.js';

/** @internal A queued or in-flight command. */
export interface Entry {
  command: string;
  payload: Buffer | undefined;
  matcher: FinalMatcher;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (r: AtResponse) => void;
  reject: (e: Error) => void;
  lines: string[];
  data: Buffer | undefined;
  final: string | undefined;
  phase: 'queued' | 'prompt' | 'response' | 'after-final';
  /** The caller got its answer (or error); the entry may still be in flight as a zombie. */
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  settleTimer: NodeJS.Timeout | undefined;
  /** `performance.now()` when the command was written (for the 'result' event's `ms`). */
  sentAt: number | undefined;
}

/**
 * @internal The arguments of `send()`, checked before anything is queued (`ERR_BAD_ARGUMENT`),
 * with the payload as a Buffer.
 */
export function checkSend(command: string, options: AtSendOptions): { payload: Buffer | undefined } {
  assertCommand(command);
  if (options.payload !== undefined && !(options.payload instanceof Uint8Array)) {
    throw new BadArgumentError('payload', 'payload must be a Buffer or Uint8Array.');
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0 && Number.isFinite(options.timeoutMs))) {
    throw new BadArgumentError('timeoutMs', `timeoutMs must be a positive number, got ${options.timeoutMs}.`);
  }
  const p = options.payload;
  return {
    payload: p === undefined ? undefined : Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength),
  };
}

/** @internal A queued entry for `command`. */
export function newEntry(
  command: string,
  e: Pick<Entry, 'payload' | 'matcher' | 'timeoutMs' | 'signal' | 'resolve' | 'reject'>,
): Entry {
  return {
    command,
    ...e,
    onAbort: undefined,
    lines: [],
    data: undefined,
    final: undefined,
    phase: 'queued',
    settled: false,
    timer: undefined,
    settleTimer: undefined,
    sentAt: undefined,
  };
}
