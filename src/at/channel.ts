/**
 * The AT channel: one command in flight over a byte stream, FIFO queue, per-command timeouts and
 * final-result matchers, prompt commands with payloads, URC dispatch at any moment, and a resync
 * after a timed-out command so that its late answer never reaches the next command.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { assertCommand } from './args.js';
import {
  AbortedError,
  AtBlockCutError,
  AtClosedError,
  AtCommandError,
  AtAbandonedError,
  AtTimeoutError,
  BadArgumentError,
  cmeMeaning,
} from './errors.js';
import {
  defaultFinalMatcher,
  defaultTimeoutFor,
  DEFAULT_TIMEOUT_MS,
  isErrorFinal,
  isKnownUrc,
  parseCme,
  standardFinal,
  type FinalMatcher,
} from './finals.js';
import { AtScanner, type AtBlockKind, type AtCutReason, type AtScannerOptions, type AtToken } from './scanner.js';
import { PayloadTrace, redactEscaped, redactLine, summarize } from './trace.js';

const log = createDebug('air780:at');

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
  /** Line rate, for the default mid-block silence bound (see {@link AtScannerOptions}). Default 115200. */
  baudRate?: number;
  /** Mid-block silence that cuts a block (see {@link AtScannerOptions}). */
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

interface Entry {
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
}

/** U+FFFD marks invalid UTF-8; control bytes never appear in module text. */
// eslint-disable-next-line no-control-regex
const GARBLED = /[\ufffd\x00-\x08\x0b-\x1f\x7f]/;

/** The orphan of a resync restarted by {@link AtChannel.abandonInflight}: see there. */
const LATE_OK: FinalMatcher = (line) => (line === 'OK' ? 'final' : undefined);

/** Invalid on purpose: its `ERROR` tells the resync's answers apart from a late `OK`. */
const SYNC_PROBE = 'AT+A780SYNC';

/**
 * The AT channel over a Duplex (serial port, pty, mock stream).
 *
 * Events: `'unknown'` (line, data?) for unsolicited input nobody claimed (incl. garbage
 * previews), `'line'` (line) for every line, echo and prompt (`'> '`) as received — for consoles,
 * `'token'` (AtToken), `'cut'` ({@link AtCut}) for a received block given up part-way,
 * `'close'` (error?), `'error'` (error) for stream errors and throwing URC handlers (only emitted
 * when someone listens).
 */
export class AtChannel extends EventEmitter {
  /** Label in trace output (the port path, or `air780`). */
  readonly name: string;
  private readonly stream: Duplex;
  private readonly scanner: AtScanner;
  private readonly defaultTimeoutMs: number;
  private readonly syncTimeoutMs: number;
  private readonly queue: Entry[] = [];
  private inflight: Entry | undefined;
  private readonly urcs: Array<{ test: (line: string) => boolean; handler: (urc: AtUrc) => void }> = [];
  private closed = false;
  /** Set when a command timed out: its final may still arrive. */
  private readonly payloadTrace = new PayloadTrace();
  private dirty: { orphan: FinalMatcher; orphanOpen: boolean; payload: Buffer | undefined; command: string } | undefined;
  private resync: { phase: 1 | 2; timer: NodeJS.Timeout } | undefined;
  private readonly streamListeners: Array<[string, (...args: never[]) => void]> = [];

  /** Reads from and writes to `stream` (a serial port, pty or the mock's host stream) from now on. */
  constructor(stream: Duplex, options: AtChannelOptions = {}) {
    super();
    this.stream = stream;
    this.name = options.name ?? 'at';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 5000;
    const scannerOptions: AtScannerOptions = {};
    if (options.maxLineLength !== undefined) scannerOptions.maxLineLength = options.maxLineLength;
    if (options.maxBlockLength !== undefined) scannerOptions.maxBlockLength = options.maxBlockLength;
    if (options.baudRate !== undefined) scannerOptions.baudRate = options.baudRate;
    if (options.blockSilenceMs !== undefined) scannerOptions.blockSilenceMs = options.blockSilenceMs;
    this.scanner = new AtScanner((t) => this.onToken(t), scannerOptions);

    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (log.enabled) log('[%s] ← %s', this.name, redactEscaped(summarize(buf)));
      this.scanner.push(buf);
    };
    const onEnd = (): void => this.shutdown(new AtClosedError('The serial stream ended (port closed or device unplugged). Reopen the port to continue.'));
    const onClose = onEnd;
    const onError = (err: Error): void => {
      if (this.closed) return;
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.shutdown(new AtClosedError(`The serial stream failed: ${err.message}. Reopen the port to continue.`, err));
    };
    this.listen('data', onData);
    this.listen('end', onEnd);
    this.listen('close', onClose);
    this.listen('error', onError);
  }

  private listen(event: string, fn: (...args: never[]) => void): void {
    this.stream.on(event, fn as (...args: unknown[]) => void);
    this.streamListeners.push([event, fn]);
  }

  /** True once {@link close} was called or the stream ended. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Commands queued or in flight (a detached, aborted command still counts until it ends). */
  get pending(): number {
    return this.queue.length + (this.inflight ? 1 : 0);
  }

  /**
   * Queue a command (FIFO, one in flight). `command` has no terminator: `'AT+CSQ'`. Resolves with
   * the response; rejects with `ERR_AT_TIMEOUT`, `ERR_CME` / `ERR_AT_ERROR`, `ERR_AT_CLOSED`,
   * `ERR_ABORTED`, or `ERR_BAD_ARGUMENT` (nothing written).
   */
  send(command: string, options: AtSendOptions = {}): Promise<AtResponse> {
    try {
      assertCommand(command);
      if (options.payload !== undefined && !(options.payload instanceof Uint8Array)) {
        throw new BadArgumentError('payload', 'payload must be a Buffer or Uint8Array.');
      }
      if (options.timeoutMs !== undefined && !(options.timeoutMs > 0 && Number.isFinite(options.timeoutMs))) {
        throw new BadArgumentError('timeoutMs', `timeoutMs must be a positive number, got ${options.timeoutMs}.`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new AtClosedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(command, signal.reason));

    return new Promise<AtResponse>((resolve, reject) => {
      const payload =
        options.payload === undefined
          ? undefined
          : Buffer.isBuffer(options.payload)
            ? options.payload
            : Buffer.from(options.payload.buffer, options.payload.byteOffset, options.payload.byteLength);
      const entry: Entry = {
        command,
        payload,
        matcher: options.final ?? defaultFinalMatcher(command, payload !== undefined),
        timeoutMs: options.timeoutMs ?? defaultTimeoutFor(command, this.defaultTimeoutMs),
        signal,
        onAbort: undefined,
        resolve,
        reject,
        lines: [],
        data: undefined,
        final: undefined,
        phase: 'queued',
        settled: false,
        timer: undefined,
        settleTimer: undefined,
      };
      if (signal) {
        entry.onAbort = () => this.abort(entry);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  /**
   * Receive unsolicited lines and blocks matching `match` (prefix, RegExp or predicate) at any
   * moment, including while a command is in flight. Match tightly: a command's final matcher sees
   * a line first, URC handlers next, the command's information lines last. Returns an unsubscribe
   * function.
   */
  onUrc(match: UrcMatch, handler: (urc: AtUrc) => void): () => void {
    const test =
      typeof match === 'string'
        ? (line: string) => line.startsWith(match)
        : match instanceof RegExp
          ? (line: string) => {
              match.lastIndex = 0;
              return match.test(line);
            }
          : match;
    const rec = { test, handler };
    this.urcs.push(rec);
    return () => {
      const i = this.urcs.indexOf(rec);
      if (i >= 0) this.urcs.splice(i, 1);
    };
  }

  /** Write raw bytes, bypassing the queue (interactive console, `+++`). */
  writeRaw(bytes: Buffer | string): void {
    if (this.closed) throw new AtClosedError();
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    this.write(buf, 'raw');
  }

  /** Reject everything queued or in flight with `ERR_AT_CLOSED` and stop reading. The stream is not destroyed. */
  close(): void {
    this.shutdown(new AtClosedError());
  }

  // ---- internals -------------------------------------------------------------------------

  private write(buf: Buffer, what: 'command' | 'payload' | 'raw' | 'sync', command = ''): void {
    if (log.enabled) {
      // Payloads are traced per destination (the command less its length: a link's CIPSEND), so
      // a request head split over several sends stays hidden.
      const text = what === 'payload' ? this.payloadTrace.render(command.replace(/[=,]\d+$/, ''), buf) : redactEscaped(summarize(buf, 256));
      log('[%s] → %s%s', this.name, what === 'payload' ? `payload ${buf.length} bytes: ` : '', text);
    }
    try {
      this.stream.write(buf);
    } catch (err) {
      this.shutdown(new AtClosedError(`Writing to the serial stream failed: ${(err as Error).message}.`, err));
    }
  }

  private pump(): void {
    if (this.closed || this.inflight || this.resync) return;
    const entry = this.queue[0];
    if (!entry) return;
    if (this.dirty) {
      this.startResync();
      return;
    }
    this.queue.shift();
    this.inflight = entry;
    entry.phase = entry.payload ? 'prompt' : 'response';
    entry.timer = setTimeout(() => this.onTimeout(entry), entry.timeoutMs);
    // CRLF before a payload: with CR alone the module swallows a leading LF of the payload.
    this.write(Buffer.from(entry.command + (entry.payload ? '\r\n' : '\r'), 'utf8'), 'command');
  }

  private onTimeout(entry: Entry): void {
    if (this.inflight !== entry) return;
    const phase = entry.phase;
    this.giveUp(entry, new AtTimeoutError(entry.command, entry.timeoutMs, entry.lines, phase === 'prompt' ? 'no "> " prompt' : undefined));
  }

  /**
   * The module can no longer answer the command in flight (it restarted: `RDY`). Reject it now
   * with `ERR_AT_ABANDONED` rather than at its timeout, which would hold up every command behind
   * it. It is treated like a timed-out command: should it have reached the module after the
   * restart after all, its answer is still to come, and a resync runs before the next command.
   * A resync under way is started again: its probe was most likely lost in the restart, and
   * waiting out its timeout would fail the next command with `ERR_AT_TIMEOUT`.
   * Returns whether a command was in flight.
   */
  abandonInflight(reason: string): boolean {
    if (this.resync) {
      log('[%s] resync restarted: %s', this.name, reason);
      clearTimeout(this.resync.timer);
      this.resync = undefined;
      // The lost probe, or an earlier orphan, may be answered after all. Phase 1 absorbs any
      // error line; an orphan that takes only `OK` makes the first OK ambiguous, so phase 2 (which
      // absorbs every OK until its probe's ERROR) always runs: any number of late finals is safe.
      this.dirty = { orphan: LATE_OK, orphanOpen: true, payload: undefined, command: 'AT' };
      this.pump();
      return false;
    }
    const entry = this.inflight;
    if (!entry) return false;
    log('[%s] %s abandoned: %s', this.name, entry.command, reason);
    this.giveUp(entry, new AtAbandonedError(entry.command, reason));
    return true;
  }

  private giveUp(entry: Entry, error: Error): void {
    const afterFinal = entry.phase === 'after-final';
    this.release(entry);
    if (!afterFinal) {
      // Its final result may still come: make sure it never reaches the next command.
      this.dirty = { orphan: entry.matcher, orphanOpen: true, payload: entry.payload, command: entry.command };
    }
    if (!entry.settled) {
      entry.settled = true;
      entry.reject(error);
    }
    this.pump();
  }

  private abort(entry: Entry): void {
    if (entry.settled) return;
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
    entry.settled = true;
    // In flight: the module still answers; the entry stays as a detached zombie that absorbs it.
    entry.reject(new AbortedError(entry.command, entry.signal?.reason));
    if (i >= 0) this.pump();
  }

  /** Detach an entry from the channel (timers, abort listener, in-flight slot). */
  private release(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.settleTimer) clearTimeout(entry.settleTimer);
    entry.timer = entry.settleTimer = undefined;
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    if (this.inflight === entry) this.inflight = undefined;
  }

  private complete(entry: Entry, final: string): void {
    this.release(entry);
    // The module follows received data with CRLF exactly when CIPRXF is 0: the scanner checks it then.
    const rxf = /^AT\+CIPRXF=([01])$/i.exec(entry.command);
    if (rxf && final === 'OK') this.scanner.setReceiveTrailer(rxf[1] === '0');
    if (!entry.settled) {
      entry.settled = true;
      const r: AtResponse = { command: entry.command, lines: entry.lines, final };
      if (entry.data) r.data = entry.data;
      entry.resolve(r);
    }
    this.pump();
  }

  private fail(entry: Entry, line: string): void {
    this.release(entry);
    if (!entry.settled) {
      entry.settled = true;
      const cme = parseCme(line);
      const info: { cme?: number; meaning?: string; lines: string[] } = { lines: entry.lines };
      if (cme?.code !== undefined) {
        info.cme = cme.code;
        const meaning = cmeMeaning(cme.code);
        if (meaning !== undefined) info.meaning = meaning;
      } else if (cme?.text !== undefined) {
        info.meaning = cme.text;
      }
      entry.reject(new AtCommandError(entry.command, line, info));
    }
    this.pump();
  }

  private shutdown(error: AtClosedError): void {
    if (this.closed) return;
    this.closed = true;
    for (const [event, fn] of this.streamListeners) this.stream.off(event, fn as (...args: unknown[]) => void);
    this.streamListeners.length = 0;
    // Nobody reads any more; paused, the bytes wait for whoever takes the stream next.
    if (typeof this.stream.pause === 'function' && !this.stream.destroyed) this.stream.pause();
    this.scanner.reset();
    if (this.resync) clearTimeout(this.resync.timer);
    this.resync = undefined;
    const all = [...(this.inflight ? [this.inflight] : []), ...this.queue];
    this.queue.length = 0;
    for (const e of all) {
      this.release(e);
      if (!e.settled) {
        e.settled = true;
        e.reject(error);
      }
    }
    log('[%s] closed: %s', this.name, error.message);
    this.emit('close', error);
  }

  // ---- resync ----------------------------------------------------------------------------
  //
  // After a timeout the module may still send the timed-out command's final result (at most one,
  // and before the answer to anything written later, as the module answers in order). `AT` is
  // sent; an error-class line before its OK can only be that late final. If the late final could
  // itself be `OK`, the first OK is ambiguous, so an invalid probe follows: its ERROR can only be
  // the probe's, and every OK before it belongs to earlier commands. Then the channel is clean.

  private startResync(): void {
    this.resync = { phase: 1, timer: setTimeout(() => this.onResyncTimeout(), this.syncTimeoutMs) };
    this.write(Buffer.from('AT\r'), 'sync');
  }

  private onResyncTimeout(): void {
    this.resync = undefined;
    // The unanswered probe is the one outstanding final now.
    this.dirty = { orphan: standardFinal, orphanOpen: true, payload: undefined, command: 'AT' };
    const head = this.queue.shift();
    if (head) {
      this.release(head);
      if (!head.settled) {
        head.settled = true;
        head.reject(
          new AtTimeoutError(head.command, this.syncTimeoutMs, [], 'the module did not answer the resync after an earlier timeout; it was not sent'),
        );
      }
    }
    this.pump();
  }

  private finishResync(): void {
    if (this.resync) clearTimeout(this.resync.timer);
    this.resync = undefined;
    this.dirty = undefined;
    log('[%s] resync complete', this.name);
    this.pump();
  }

  private orphanAccepts(line: string): boolean {
    const d = this.dirty;
    if (!d || !d.orphanOpen) return false;
    const v = d.orphan(line);
    return v === 'final' || v === 'error' || v === 'await';
  }

  /** Returns true when the line was consumed by the resync. */
  private resyncLine(line: string): boolean {
    const r = this.resync!;
    const d = this.dirty!;
    if (r.phase === 1) {
      if (line === 'OK') {
        if (this.orphanAccepts(line)) {
          d.orphanOpen = false;
          r.phase = 2;
          this.write(Buffer.from(SYNC_PROBE + '\r'), 'sync');
        } else {
          this.finishResync();
        }
        return true;
      }
      if (this.orphanAccepts(line)) {
        log('[%s] late final of timed-out %s discarded: %s', this.name, d.command, line);
        d.orphanOpen = false;
        return true;
      }
      if (isErrorFinal(line)) return true; // `AT` cannot fail: a stray late result
      return false;
    }
    if (line === 'OK') return true;
    if (isErrorFinal(line)) {
      this.finishResync();
      return true;
    }
    return false;
  }

  // ---- input -----------------------------------------------------------------------------

  private onToken(token: AtToken): void {
    if (this.listenerCount('token') > 0) this.emit('token', token);
    switch (token.type) {
      case 'echo':
        this.emit('line', token.line);
        return;
      case 'line':
        this.emit('line', token.line);
        this.onLine(token.line);
        return;
      case 'prompt':
        this.emit('line', '> ');
        this.onPrompt();
        return;
      case 'block':
        this.emit('line', token.line);
        this.onBlock(token);
        return;
      case 'garbage':
        log('[%s] garbage dropped (%s): %s', this.name, token.reason, token.preview);
        this.emit('unknown', token.preview);
        return;
      case 'cut':
        this.onCut(token);
        return;
    }
  }

  private onLine(line: string): void {
    if (GARBLED.test(line)) {
      // Invalid UTF-8 or control bytes: line noise, never a response line.
      log('[%s] garbled line: %s', this.name, JSON.stringify(line));
      this.emit('unknown', line);
      return;
    }
    if (this.resync && this.resyncLine(line)) return;
    const e = this.inflight;
    if (e) {
      const v = e.matcher(line);
      if (e.phase === 'prompt') {
        // Before the prompt only a failure ends the command (nothing has been written then).
        if (v === 'error') return this.fail(e, line);
      } else {
        switch (v) {
          case 'final':
            return this.complete(e, line);
          case 'error':
            return this.fail(e, line);
          case 'info':
            e.lines.push(line);
            return;
          case 'done':
            e.lines.push(line);
            return this.complete(e, e.final ?? line);
          case 'await':
            e.final = line;
            e.phase = 'after-final';
            return;
          case 'settle':
            e.lines.push(line);
            if (e.settleTimer) clearTimeout(e.settleTimer);
            e.settleTimer = setTimeout(() => this.complete(e, e.final ?? line), e.matcher.settleMs ?? 250);
            return;
          default:
            break;
        }
      }
      if (this.dispatch({ line })) return;
      if (isKnownUrc(line) || e.phase === 'after-final') {
        this.emit('unknown', line);
        return;
      }
      e.lines.push(line);
      return;
    }
    if (this.dirty && !this.resync && this.orphanAccepts(line)) {
      log('[%s] late final of timed-out %s discarded: %s', this.name, this.dirty.command, line);
      this.dirty.orphanOpen = false;
      return;
    }
    if (this.dispatch({ line })) return;
    this.emit('unknown', line);
  }

  private onPrompt(): void {
    const e = this.inflight;
    if (e && e.phase === 'prompt' && !this.resync) {
      e.phase = 'response';
      this.write(e.payload!, 'payload', e.command);
      return;
    }
    const d = this.dirty;
    if (d && d.orphanOpen && d.payload) {
      // The timed-out prompt command got its prompt late; the module now takes the next bytes
      // as payload. Completing the exchange keeps the channel in step.
      log('[%s] late prompt for timed-out %s: writing its payload', this.name, d.command);
      this.write(d.payload, 'payload', d.command);
      d.payload = undefined;
      return;
    }
    log('[%s] unexpected prompt', this.name);
    this.emit('unknown', '> ');
  }

  /** Does a `+CIPRXGET: 2` block arriving now belong to the command in flight? */
  private readsBlock(e: Entry | undefined, kind: AtBlockKind): e is Entry {
    return kind === 'ciprxget' && !!e && !this.resync && e.phase === 'response' && e.data === undefined && /^AT\+CIPRXGET=2\b/i.test(e.command);
  }

  private onCut(token: Extract<AtToken, { type: 'cut' }>): void {
    log('[%s] block cut (%s) after %d bytes: %s', this.name, token.reason, token.received, token.line);
    const cut: AtCut = { line: token.line, kind: token.kind, reason: token.reason, received: token.received };
    if (token.link !== undefined) cut.link = token.link;
    const e = this.inflight;
    if (this.readsBlock(e, token.kind)) {
      cut.command = e.command;
      // Like a timeout: its final may still come (misaligned) or never (reset); a resync keeps it
      // away from the next command.
      this.giveUp(e, new AtBlockCutError(e.command, token.reason));
    }
    this.emit('cut', cut);
  }

  private onBlock(token: Extract<AtToken, { type: 'block' }>): void {
    const e = this.inflight;
    if (this.readsBlock(e, token.kind)) {
      e.lines.push(token.line);
      e.data = token.data;
      return;
    }
    const urc: AtUrc = { line: token.line, data: token.data, kind: token.kind };
    if (token.link !== undefined) urc.link = token.link;
    if (this.dispatch(urc)) return;
    this.emit('unknown', token.line, token.data);
  }

  private dispatch(urc: AtUrc): boolean {
    let claimed = false;
    for (const rec of [...this.urcs]) {
      let hit = false;
      try {
        hit = rec.test(urc.line);
        if (hit) rec.handler(urc);
      } catch (err) {
        log('[%s] URC handler threw on %s: %s', this.name, redactLine(urc.line), (err as Error).message);
        if (this.listenerCount('error') > 0) this.emit('error', err);
      }
      claimed ||= hit;
    }
    return claimed;
  }
}
