import type createDebug from 'debug';
import type { AtCommand } from './command.js';
import type { CommandFaults } from './command-faults.js';
import type { ResolvedOptions } from './options.js';

/** A command's answer: information lines, then one final result code. */
export interface Reply {
  lines?: string[];
  final: string;
}

/**
 * A command handler. Returns the reply, or null when it wrote its own output (prompt commands,
 * the OK-first `AT+CIPSTATUS`, finals followed by URCs) through {@link ModuleIo}.
 */
export type Handler = (cmd: AtCommand) => Reply | null | Promise<Reply | null>;

/** What the command sets (TCP/IP, files) need from the module core. */
export interface ModuleIo {
  readonly opts: ResolvedOptions;
  readonly log: createDebug.Debugger;
  /** A response line, framed `\r\n<text>\r\n`. */
  line(text: string): void;
  /** The final result code of the running command (dropped once by the `swallow` fault). */
  final(text: string): void;
  /** Bytes as they are. */
  raw(buf: Buffer): void;
  /** An unsolicited line (framed) followed by raw bytes; held back while a send prompt is open. */
  urc(text: string | null, data?: Buffer[]): void;
  /** The final result text for a CME error under the current `AT+CMEE` mode. */
  cme(code: number): string;
  /**
   * Show the `> ` prompt (unless `show` is false) and collect exactly `len` bytes, or, when `len`
   * is undefined, bytes up to Ctrl-Z (ESC aborts: resolves 'aborted'). Resolves undefined when the
   * module reboots or `timeoutMs` passes first.
   */
  prompt(
    len: number | undefined,
    show: boolean,
    timeoutMs?: number,
  ): Promise<Buffer | 'aborted' | 'timeout' | undefined>;
  /** Run `fn` after `ms` unless the module reboots or is closed first. Returns a cancel function. */
  later(ms: number, fn: () => void): () => void;
  /** Bytes waiting to go out on the serial line (including held URCs). */
  outputPressure(): number;
  /** Registered on the network and attached (bearer possible). */
  registered(): boolean;
  /** Increments on every reboot/power loss; async work compares it to know it is stale. */
  readonly epoch: number;
  /** One-shot command faults armed by tests. */
  readonly faults: CommandFaults;
}

/** A set of commands the module core dispatches to. */
export interface CommandSet {
  readonly handlers: ReadonlyMap<string, Handler>;
}
