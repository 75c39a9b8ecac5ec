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
  /** `AT+CIPRXGET=2,…`: a pull read, whose `+CIPRXGET: 2` block is its data. */
  readonly pullRead: boolean;
  /** `AT+CIPRXF=<0|1>`: once answered OK, whether the module follows received blocks with CRLF. */
  readonly receiveTrailer: boolean | undefined;
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
    // Worked out once here rather than by a regex per answer or per received block.
    pullRead: PULL_READ.test(command),
    receiveTrailer: receiveTrailerOf(command),
  };
}

const PULL_READ = /^AT\+CIPRXGET=2\b/i;
const RXF = /^AT\+CIPRXF=([01])$/i;

function receiveTrailerOf(command: string): boolean | undefined {
  const m = RXF.exec(command);
  return m ? m[1] === '0' : undefined;
}
