/**
 * The engine of `air780 at`: typed lines go to the module as they are, everything the module
 * sends comes back as it arrives. No driver runs underneath, so a typed `AT+CIPSTART` owns its
 * link and its `0, CONNECT OK` is shown, not taken.
 *
 * It still knows where one command ends (the channel's final-result matchers), so that piped
 * input runs one command at a time and URCs can be told from responses, and it knows the `> `
 * prompt: after it, the next typed line is the payload.
 *
 * Payload rules: a fixed-length send (`AT+CIPSEND=<n>,<len>`, single-link `AT+CIPSEND=<len>`,
 * `AT+FSWRITE=...,<size>,...`) takes exactly the bytes typed, no CR/LF added; a shorter line
 * leaves the prompt open for more lines, a longer one is cut at the length (the rest is not sent,
 * and said so). A variable-length send (`AT+CIPSEND=<n>` on a multi-link module, `AT+CIPSEND`)
 * takes one line and ends it with Ctrl-Z (0x1A), added unless the line already ends with it.
 * In a variable-length send, a line that is a lone ESC (0x1B) cancels it (in a fixed-length one,
 * ESC is just a payload byte).
 */
import type { Duplex } from 'node:stream';
import { AtScanner, type AtToken } from '../at/scanner.js';
import { defaultFinalMatcher, type FinalMatcher } from '../at/finals.js';
import { defaultTimeoutFor, isKnownUrc } from '../at/dialect.js';
import { plural } from './plural.js';

/** What the console shows: the module's lines sorted by whom they belong to, and its own notes. */
export type ConsoleOutput =
  | { kind: 'response'; line: string }
  | { kind: 'urc'; line: string }
  /** Bytes of a `+RECEIVE` / `+IPD` / `+CIPRXGET: 2` block (after its header line). */
  | { kind: 'data'; data: Buffer }
  /** The module opened a prompt: the next typed line is payload (`remaining` bytes, or up to Ctrl-Z). */
  | { kind: 'prompt'; remaining: number | undefined }
  /**
   * Bytes the module sent with no line end yet (raw socket data in single-link mode, say), shown
   * once the port has been quiet for {@link PARTIAL_QUIET_MS} or the console closes.
   */
  | { kind: 'partial'; data: Buffer }
  | { kind: 'note'; text: string };

export interface AtConsoleOptions {
  /** Receives everything to show, in arrival order. */
  output(o: ConsoleOutput): void;
  /** Whether the module runs in multi-link mode (decides what `AT+CIPSEND=<a>` means). Default true. */
  mux?: boolean;
  /** Override the per-command wait for a final result (tests). */
  timeoutMs?: (command: string) => number;
}

const CTRL_Z = 0x1a;
/** Quiet time after which bytes without a line end are shown as they are. */
export const PARTIAL_QUIET_MS = 200;
/** Received bytes kept to recover the scanner's pending ones (more than its longest line). */
const TAIL_BYTES = 8192;
const ESC = '\x1b';
/** Commands that answer with a `> ` prompt and then take a payload. */
const PROMPT_COMMAND = /^AT\+(?:CIPSEND|FSWRITE|CMGS|CMGW)(?:=|$)/i;

interface Running {
  command: string;
  matcher: FinalMatcher;
  /** Fixed payload length, or undefined for Ctrl-Z-terminated. */
  length: number | undefined;
  phase: 'response' | 'payload' | 'after-final';
  remaining: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Feeds typed lines to the module one command at a time and reports what comes back.
 * {@link submit} queues a line; {@link idle} resolves once everything queued has ended.
 */
export class AtConsole {
  private readonly scanner: AtScanner;
  private readonly queue: string[] = [];
  private running: Running | undefined;
  private mux: boolean;
  private closed = false;
  private waiters: Array<() => void> = [];
  private resolveEnded!: () => void;
  /** Resolves once the port closed or failed, or {@link close} was called. */
  readonly ended: Promise<void> = new Promise((resolve) => (this.resolveEnded = resolve));
  /** The last bytes received: the scanner's pending partial line is their end. */
  private tail: Buffer = Buffer.alloc(0);
  private partialTimer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.tail =
      this.tail.length + chunk.length <= TAIL_BYTES
        ? Buffer.concat([this.tail, chunk])
        : Buffer.concat([this.tail, chunk]).subarray(-TAIL_BYTES);
    this.scanner.push(chunk);
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    if (this.scanner.pendingBytes > 0 && !this.scanner.inBlock) {
      this.partialTimer = setTimeout(() => this.flushPartial(), PARTIAL_QUIET_MS);
      this.partialTimer.unref();
    }
  };
  private readonly onEnd = (): void => this.end('the port closed');

  constructor(
    private readonly stream: Duplex,
    private readonly options: AtConsoleOptions,
  ) {
    this.mux = options.mux ?? true;
    this.scanner = new AtScanner((t) => this.onToken(t));
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', (err: Error) => this.end(`the port failed: ${err.message}`));
    stream.resume();
  }

  /** True while the module waits for payload bytes. */
  get inPayload(): boolean {
    return this.running?.phase === 'payload';
  }

  /** True once the port closed (or {@link close} was called). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue one typed line: a command (trimmed; a blank line is skipped), or, when the module has
   * opened a prompt by the time the line's turn comes, payload (as typed).
   */
  submit(line: string): void {
    if (this.closed) return;
    this.queue.push(line);
    this.pump();
  }

  /**
   * Resolves once nothing is queued and no command waits for its answer — or the module waits for
   * payload, which only more input can give ({@link inPayload} tells).
   */
  idle(): Promise<void> {
    if (this.closed || (this.queue.length === 0 && (!this.running || this.running.phase === 'payload')))
      return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Ends an open prompt at end of input. A variable-length send is cancelled with ESC (its reply
   * is undocumented: the wait for it is short). A fixed-length one cannot be: the module counts
   * bytes, so ESC would be data, and none are made up: false (the module still waits for them).
   */
  cancelPayload(why: string): boolean {
    const r = this.running;
    if (r?.phase !== 'payload') return true;
    if (r.length !== undefined) {
      this.note(
        `${why} with ${r.remaining} of the announced ${r.length} payload bytes not typed; the module still waits for them`,
      );
      this.finish(r);
      return false;
    }
    this.note(`payload cancelled (${why}): ESC sent`);
    this.write(Buffer.from(ESC));
    r.phase = 'response';
    this.arm(r, 2000);
    return true;
  }

  /** Stops listening; the stream is left to the caller. */
  close(): void {
    this.end(undefined);
  }

  /**
   * Shows the bytes the scanner holds for want of a line end, and lets it start afresh: what
   * follows them is shown on its own (a later line end only ends the line after them).
   */
  private flushPartial(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    const n = this.scanner.pendingBytes;
    if (n === 0 || this.scanner.inBlock || n > this.tail.length) return;
    const data = Buffer.from(this.tail.subarray(this.tail.length - n));
    this.scanner.reset();
    this.tail = Buffer.alloc(0);
    this.options.output({ kind: 'partial', data });
  }

  private end(why: string | undefined): void {
    if (this.closed) return;
    this.flushPartial();
    this.closed = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    if (this.running?.timer) clearTimeout(this.running.timer);
    this.running = undefined;
    this.queue.length = 0;
    if (why) this.note(why);
    this.settle();
    this.resolveEnded();
  }

  private note(text: string): void {
    this.options.output({ kind: 'note', text });
  }

  private write(bytes: Buffer): void {
    try {
      this.stream.write(bytes);
    } catch (err) {
      this.end(`writing to the port failed: ${(err as Error).message}`);
    }
  }

  private settle(): void {
    if (!this.closed && (this.queue.length || (this.running && this.running.phase !== 'payload'))) return;
    for (const w of this.waiters.splice(0)) w();
  }

  private pump(): void {
    while (!this.closed && this.queue.length) {
      const r = this.running;
      if (r && r.phase !== 'payload') return;
      const line = this.queue.shift()!;
      if (r) this.payload(r, line);
      else if (line.trim()) this.start(line.trim());
    }
    this.settle();
  }

  private start(command: string): void {
    const prompt = PROMPT_COMMAND.test(command) && !/[?]$/.test(command);
    // Multi-link `AT+CIPSEND=<n>` ends with `<n>, SEND OK`, which the channel's matcher knows only
    // from the two-argument form.
    const link = this.mux ? /^AT\+CIPSEND=(\d+)$/i.exec(command)?.[1] : undefined;
    const r: Running = {
      command,
      matcher: defaultFinalMatcher(link !== undefined ? `AT+CIPSEND=${link},1` : command, prompt),
      length: prompt ? this.payloadLength(command) : undefined,
      phase: 'response',
      remaining: 0,
      timer: undefined,
    };
    this.running = r;
    this.arm(r);
    this.write(Buffer.from(`${command}\r`, 'utf8'));
  }

  /** The announced payload length of a prompt command, undefined for a Ctrl-Z-terminated one. */
  private payloadLength(command: string): number | undefined {
    const fs = /^AT\+FSWRITE=[^,]*,[^,]*,(\d+)/i.exec(command);
    if (fs) return Number(fs[1]);
    const m = /^AT\+CIPSEND=(\d+)(?:,(\d+))?$/i.exec(command);
    if (!m) return undefined;
    if (m[2] !== undefined) return Number(m[2]);
    return this.mux ? undefined : Number(m[1]);
  }

  private arm(r: Running, quietMs?: number): void {
    if (r.timer) clearTimeout(r.timer);
    const ms = quietMs ?? this.options.timeoutMs?.(r.command) ?? defaultTimeoutFor(r.command);
    r.timer = setTimeout(() => {
      if (this.running !== r) return;
      if (quietMs === undefined)
        this.note(`no final result for ${r.command} within ${ms / 1000} s; what comes later is shown as it arrives`);
      this.finish(r);
    }, ms);
  }

  private finish(r: Running): void {
    if (r.timer) clearTimeout(r.timer);
    if (this.running === r) this.running = undefined;
    this.pump();
  }

  private awaitFinal(r: Running): void {
    r.phase = 'response';
    this.arm(r);
  }

  private payload(r: Running, line: string): void {
    if (line === ESC && r.length === undefined) {
      this.write(Buffer.from(ESC));
      r.phase = 'response';
      this.arm(r, 2000);
      return;
    }
    const bytes = Buffer.from(line, 'utf8');
    if (r.length === undefined) {
      this.write(bytes.at(-1) === CTRL_Z ? bytes : Buffer.concat([bytes, Buffer.from([CTRL_Z])]));
      this.awaitFinal(r);
      return;
    }
    const take = bytes.subarray(0, r.remaining);
    this.write(take);
    r.remaining -= take.length;
    if (bytes.length > take.length)
      this.note(`${plural(bytes.length - take.length, 'byte')} beyond the announced ${r.length} were not sent`);
    if (r.remaining > 0) {
      this.options.output({ kind: 'prompt', remaining: r.remaining });
      return;
    }
    this.awaitFinal(r);
  }

  private onToken(t: AtToken): void {
    switch (t.type) {
      case 'echo':
        // Echo is switched off at the start; after a module restart it is back on: the typed
        // command is on the screen already.
        return;
      case 'garbage':
        this.note(`dropped input from the module (${t.reason}): ${t.preview}`);
        return;
      case 'cut':
        this.onLine(t.line, true);
        this.note(
          t.reason === 'silence'
            ? `the data stopped after ${t.received} bytes (module reset?); not shown`
            : `the data did not end where announced (bytes lost or added on the line); not shown`,
        );
        return;
      case 'prompt':
        return this.onPrompt();
      case 'block':
        this.onLine(t.line, true);
        this.options.output({ kind: 'data', data: t.data });
        return;
      case 'line':
        return this.onLine(t.line, false);
    }
  }

  private onPrompt(): void {
    const r = this.running;
    if (r?.phase !== 'response' || !PROMPT_COMMAND.test(r.command)) {
      this.options.output({ kind: 'urc', line: '> ' });
      return;
    }
    if (r.timer) clearTimeout(r.timer);
    r.timer = undefined;
    r.phase = 'payload';
    r.remaining = r.length ?? 0;
    this.options.output({ kind: 'prompt', remaining: r.length });
    this.pump();
  }

  private onLine(line: string, block: boolean): void {
    const mux = /^\+CIPMUX: ?([01])$/.exec(line);
    if (mux) this.mux = mux[1] === '1';
    const r = this.running;
    // A restarted module is back in single-link mode, whether or not a command was running.
    if (line === 'RDY') this.mux = false;
    if (line === 'RDY' && r) {
      this.options.output({ kind: 'urc', line });
      this.note(`the module restarted; ${r.command} will not be answered`);
      this.finish(r);
      return;
    }
    if (!r || r.phase === 'payload' || block) {
      this.options.output({ kind: 'urc', line });
      return;
    }
    const v = r.matcher(line);
    switch (v) {
      case 'final':
      case 'error':
      case 'done':
        this.options.output({ kind: 'response', line });
        if (v !== 'error' && /^AT\+CIPMUX=([01])$/i.test(r.command)) this.mux = r.command.endsWith('1');
        this.finish(r);
        return;
      case 'info':
        this.options.output({ kind: 'response', line });
        return;
      case 'await':
        this.options.output({ kind: 'response', line });
        r.phase = 'after-final';
        return;
      case 'settle':
        this.options.output({ kind: 'response', line });
        if (r.timer) clearTimeout(r.timer);
        r.timer = setTimeout(() => this.finish(r), r.matcher.settleMs ?? 250);
        return;
      default:
        this.options.output({ kind: isKnownUrc(line) ? 'urc' : 'response', line });
    }
  }
}
