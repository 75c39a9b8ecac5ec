/**
 * The AT channel: one command in flight over a byte stream, FIFO queue, per-command timeouts and
 * final-result matchers, prompt commands with payloads, URC dispatch at any moment, and a resync
 * after a timed-out command so that its late answer never reaches the next command.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import {
  AbortedError,
  AtBlockCutError,
  AtClosedError,
  AtCommandError,
  AtAbandonedError,
  AtTimeoutError,
  cmeMeaning,
} from './errors.js';
import { defaultFinalMatcher, parseCme } from './finals.js';
import { defaultTimeoutFor, DEFAULT_TIMEOUT_MS, isKnownUrc, type DialectShape } from './dialect.js';
import { checkSend, newEntry, type Entry } from './entry.js';
import { Resync } from './resync.js';
import type { AtChannelOptions, AtCommandResult, AtCut, AtResponse, AtSendOptions, AtUrc, UrcMatch } from './types.js';
import { UrcRouter } from './urc-router.js';
import { AtScanner, type AtBlockKind, type AtScannerOptions, type AtToken } from './scanner.js';
import { PayloadTrace, redactEscaped, redactLine, summarize } from './trace.js';

const log = createDebug('air780:at');

export type { AtChannelOptions, AtCommandResult, AtCut, AtSendOptions, AtResponse, AtUrc, UrcMatch } from './types.js';

/** U+FFFD marks invalid UTF-8; control bytes never appear in module text. */
// eslint-disable-next-line no-control-regex
const GARBLED = /[\ufffd\x00-\x08\x0b-\x1f\x7f]/;

/**
 * The AT channel over a Duplex (serial port, pty, mock stream).
 *
 * Events: `'unknown'` (line, data?) for unsolicited input nobody claimed (incl. garbage
 * previews), `'line'` (line) for every line, echo and prompt (`'> '`) as received — for consoles,
 * `'token'` (AtToken), `'cut'` ({@link AtCut}) for a received block given up part-way,
 * `'close'` (error?), `'error'` (error) for stream errors and throwing URC handlers (only emitted
 * when someone listens), `'result'` ({@link AtCommandResult}) as each command ends (only emitted
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
  private readonly urcs: UrcRouter;
  private closed = false;
  private readonly payloadTrace = new PayloadTrace();
  /** In step again after a given-up command (resync.ts). */
  private readonly resync: Resync;
  private readonly streamListeners: Array<[string, (...args: never[]) => void]> = [];
  /** Bytes read from the stream so far (counted for status pages; nothing else reads them). */
  bytesIn = 0;
  /** Bytes written to the stream so far (commands, payloads, resync probes, raw writes). */
  bytesOut = 0;

  /** Reads from and writes to `stream` (a serial port, pty or the mock's host stream) from now on. */
  constructor(stream: Duplex, options: AtChannelOptions = {}) {
    super();
    this.stream = stream;
    this.name = options.name ?? 'at';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 5000;
    this.urcs = new UrcRouter((urc, err) => {
      log('[%s] URC handler threw on %s: %s', this.name, redactLine(urc.line), err.message);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    this.resync = new Resync(
      {
        name: this.name,
        write: (buf, what) => this.write(buf, what),
        pump: () => this.pump(),
        probeUnanswered: (ms) => this.onResyncTimeout(ms),
      },
      this.syncTimeoutMs,
    );
    const scannerOptions: AtScannerOptions = {};
    if (options.maxLineLength !== undefined) scannerOptions.maxLineLength = options.maxLineLength;
    if (options.maxBlockLength !== undefined) scannerOptions.maxBlockLength = options.maxBlockLength;
    if (options.baudRate !== undefined) scannerOptions.baudRate = options.baudRate;
    if (options.blockSilenceMs !== undefined) scannerOptions.blockSilenceMs = options.blockSilenceMs;
    this.scanner = new AtScanner((t) => this.onToken(t), scannerOptions);

    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      this.bytesIn += buf.length;
      if (log.enabled) log('[%s] ← %s', this.name, redactEscaped(summarize(buf)));
      this.scanner.push(buf);
    };
    const onEnd = (): void =>
      this.shutdown(
        new AtClosedError('The serial stream ended (port closed or device unplugged). Reopen the port to continue.'),
      );
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
    let checked: { payload: Buffer | undefined };
    try {
      checked = checkSend(command, options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new AtClosedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(command, signal.reason));

    return new Promise<AtResponse>((resolve, reject) => {
      const { payload } = checked;
      const entry = newEntry(command, {
        payload,
        matcher: options.final ?? defaultFinalMatcher(command, payload !== undefined),
        timeoutMs: options.timeoutMs ?? defaultTimeoutFor(command, this.defaultTimeoutMs),
        signal,
        resolve,
        reject,
      });
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
    return this.urcs.add(match, handler);
  }

  /**
   * Receive unsolicited lines and blocks of one dialect shape (dialect.ts) with the fields parsed
   * from them, as {@link onUrc} otherwise. A line of the shape whose fields do not parse is not
   * claimed. Returns an unsubscribe function.
   */
  onShape<F>(shape: DialectShape<F>, handler: (fields: F, urc: AtUrc) => void): () => void {
    return this.urcs.addShape(shape, handler);
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

  private write(buf: Buffer, what: 'command' | 'payload' | 'raw' | 'sync' | 'filler', command = ''): void {
    if (log.enabled) {
      // Payloads are traced per destination (the command less its length: a link's CIPSEND), so
      // a request head split over several sends stays hidden.
      const text =
        what === 'payload'
          ? this.payloadTrace.render(command.replace(/[=,]\d+$/, ''), buf)
          : redactEscaped(summarize(buf, 256));
      log('[%s] → %s%s', this.name, what === 'payload' ? `payload ${buf.length} bytes: ` : '', text);
    }
    this.bytesOut += buf.length;
    try {
      this.stream.write(buf);
    } catch (err) {
      this.shutdown(new AtClosedError(`Writing to the serial stream failed: ${(err as Error).message}.`, err));
    }
  }

  private pump(): void {
    if (this.closed || this.inflight || this.resync.running) return;
    const entry = this.queue[0];
    if (!entry) return;
    if (this.resync.needed) {
      this.resync.start();
      return;
    }
    this.queue.shift();
    this.inflight = entry;
    entry.phase = entry.payload ? 'prompt' : 'response';
    entry.timer = setTimeout(() => this.onTimeout(entry), entry.timeoutMs);
    entry.sentAt = performance.now();
    // CRLF before a payload: with CR alone the module swallows a leading LF of the payload.
    this.write(Buffer.from(entry.command + (entry.payload ? '\r\n' : '\r'), 'utf8'), 'command');
  }

  private onTimeout(entry: Entry): void {
    if (this.inflight !== entry) return;
    const prompt = entry.phase === 'prompt';
    this.giveUp(
      entry,
      new AtTimeoutError(entry.command, entry.timeoutMs, entry.lines, prompt ? 'no "> " prompt' : undefined),
      prompt,
    );
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
    if (this.resync.restart(reason)) return false;
    const entry = this.inflight;
    if (!entry) return false;
    log('[%s] %s abandoned: %s', this.name, entry.command, reason);
    this.giveUp(entry, new AtAbandonedError(entry.command, reason));
    return true;
  }

  /**
   * Stop waiting for `entry`. `fill`: it timed out before its `> ` prompt; the resync puts filler,
   * never the payload, into a prompt that may still open (see {@link Resync.gaveUp}).
   */
  private giveUp(entry: Entry, error: Error, fill = false): void {
    this.release(entry);
    this.resync.gaveUp(entry.command, entry.matcher, {
      ...(fill && entry.payload ? { promptBytes: entry.payload.length } : {}),
      finalSeen: entry.phase === 'after-final',
    });
    if (!entry.settled) {
      entry.settled = true;
      this.report(entry, error instanceof AtAbandonedError ? 'abandoned' : 'timeout');
      entry.reject(error);
    }
    this.pump();
  }

  private report(entry: Entry, outcome: AtCommandResult['outcome']): void {
    if (this.listenerCount('result') === 0) return;
    const result: AtCommandResult = {
      command: entry.command,
      outcome,
      ms: entry.sentAt === undefined ? undefined : performance.now() - entry.sentAt,
    };
    this.emit('result', result);
  }

  private abort(entry: Entry): void {
    if (entry.settled) return;
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
    entry.settled = true;
    this.report(entry, 'aborted');
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
    if (entry.receiveTrailer !== undefined && final === 'OK') this.scanner.setReceiveTrailer(entry.receiveTrailer);
    if (!entry.settled) {
      entry.settled = true;
      const r: AtResponse = { command: entry.command, lines: entry.lines, final };
      if (entry.data) r.data = entry.data;
      this.report(entry, 'ok');
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
      this.report(entry, 'error');
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
    this.resync.stop();
    const all = [...(this.inflight ? [this.inflight] : []), ...this.queue];
    this.queue.length = 0;
    for (const e of all) {
      this.release(e);
      if (!e.settled) {
        e.settled = true;
        this.report(e, 'closed');
        e.reject(error);
      }
    }
    log('[%s] closed: %s', this.name, error.message);
    this.emit('close', error);
  }

  /** The resync's probe went unanswered: the command waiting behind it fails, unsent. */
  private onResyncTimeout(ms: number): void {
    const head = this.queue.shift();
    if (head) {
      this.release(head);
      if (!head.settled) {
        head.settled = true;
        this.report(head, 'timeout');
        head.reject(
          new AtTimeoutError(
            head.command,
            ms,
            [],
            'the module did not answer the resync after an earlier timeout; it was not sent',
          ),
        );
      }
    }
    this.pump();
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
    // No command is in flight while a given-up command's final may still come.
    if (this.resync.line(line)) return;
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
    if (this.dispatch({ line })) return;
    this.emit('unknown', line);
  }

  private onPrompt(): void {
    const e = this.inflight;
    if (e && e.phase === 'prompt' && !this.resync.running) {
      e.phase = 'response';
      this.write(e.payload!, 'payload', e.command);
      return;
    }
    if (this.resync.prompt()) return;
    log('[%s] unexpected prompt', this.name);
    this.emit('unknown', '> ');
  }

  /** Does a `+CIPRXGET: 2` block arriving now belong to the command in flight? */
  private readsBlock(e: Entry | undefined, kind: AtBlockKind): e is Entry {
    return (
      kind === 'ciprxget' && !!e && !this.resync.running && e.phase === 'response' && e.data === undefined && e.pullRead
    );
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
    return this.urcs.dispatch(urc);
  }
}
