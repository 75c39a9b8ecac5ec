/** The AT channel's public shapes: its options, a command's options and answer, a URC. */
import type { AtBlockKind, AtCutReason } from './scanner.js';
import type { FinalMatcher } from './finals.js';

/** Options of an {@link AtChannel}. */
export interface AtChannelOptions {
  /** Timeout for commands the manual gives no maximum response time for. Default 9000 ms. */
  defaultTimeoutMs?: number;
  /** Label in trace output (e.g. the port path). */
  name?: string;
  /** Per-phase timeout of the resync run after a command timed out. Default 5000 ms. */
  syncTimeoutMs?: number;
  /** Longest line kept (see {@link AtScanner}). Default 4096. */
  maxLineLength?: number;
  /** Largest binary block accepted. Default 1460. */
  maxBlockLength?: number;
  /** Line rate, for the default mid-block silence bound (see `AtScannerOptions`). Default 115200. */
  baudRate?: number;
  /** Mid-block silence that cuts a block (see `AtScannerOptions`). */
  blockSilenceMs?: number;
}

/**
 * A received block the scanner could not trust (event `'cut'`): none of its data is delivered.
 * `command` is set when it was the data of the command in flight, which then failed with
 * `ERR_AT_BLOCK_CUT`.
 */
export interface AtCut {
  line: string;
  kind: AtBlockKind;
  link?: number;
  reason: AtCutReason;
  /** Bytes received for it before the cut (discarded). */
  received: number;
  command?: string;
}

/** Options of one command ({@link AtChannel.send}). */
export interface AtSendOptions {
  /** Overall timeout; default from the manual's table by command (9 s for most). */
  timeoutMs?: number;
  /** Rejects the promise with `ERR_ABORTED`. A command already written still runs to its end on the module. */
  signal?: AbortSignal;
  /**
   * Prompt command: after `> `, write exactly these bytes, then wait for the final result. The
   * command is then terminated with CRLF (so a payload starting with LF is not swallowed).
   */
  payload?: Buffer | Uint8Array;
  /** Override the final-result matcher. */
  final?: FinalMatcher;
}

/** A command's complete answer. */
export interface AtResponse {
  /** The command as sent, without its terminator. */
  command: string;
  /** Information lines, in order. */
  lines: string[];
  /** The final result line (`OK`, `SHUT OK`, `10.0.0.2`, `0, CLOSE OK`, `DATA ACCEPT:0,5`, …). */
  final: string;
  /** Binary block that belonged to this command (`+CIPRXGET: 2,…`). */
  data?: Buffer;
}

/** An unsolicited line, or a block with its announcement line. */
export interface AtUrc {
  /** The line as received, without its line end. */
  line: string;
  /** Payload of `+RECEIVE` / `+IPD` / unclaimed `+CIPRXGET: 2` blocks. */
  data?: Buffer;
  /** Which announcement the block came with. */
  kind?: AtBlockKind;
  /** Link id from the announcement, when it has one. */
  link?: number;
}

/** How {@link AtChannel.onUrc} selects lines: a prefix, a regular expression or a predicate. */
export type UrcMatch = string | RegExp | ((line: string) => boolean);

/**
 * How a command ended, as the channel's `'result'` event reports it (only emitted while someone
 * listens): for metrics and status pages. `ms` runs from the write to the end (undefined if it was
 * never written).
 */
export interface AtCommandResult {
  command: string;
  outcome: 'ok' | 'error' | 'timeout' | 'abandoned' | 'aborted' | 'closed';
  ms: number | undefined;
}
