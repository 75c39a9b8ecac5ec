import createDebug from 'debug';
import { BasicCommands } from './basic-commands.js';
import { AtSyntaxError, splitCommands, type AtCommand } from './command.js';
import { CommandFaults } from './command-faults.js';
import type { Handler, ModuleIo, Reply } from './io.js';
import type { ResolvedOptions } from './options.js';
import { TcpIp } from './tcpip.js';
import type { Transcript } from './transcript.js';

const log = createDebug('air780:mock:module');

/** A command line longer than this is discarded (bounded input buffer). */
const MAX_LINE = 4096;
/** Stop taking bytes from the line while this much input waits unprocessed. */
const MAX_INPUT = 64 * 1024;
const MAX_HELD = 256 * 1024;
const CR = 0x0d;
const LF = 0x0a;
const CTRL_Z = 0x1a;
const ESC = 0x1b;
/** A payload without a length (ended by Ctrl-Z) is sent once it reaches this many bytes. */
const MAX_OPEN_PAYLOAD = 1460;

/** Index of the first Ctrl-Z or ESC in `b`, or -1: two native scans, not a callback per payload byte. */
function firstEnd(b: Buffer): number {
  const z = b.indexOf(CTRL_Z);
  const e = (z < 0 ? b : b.subarray(0, z)).indexOf(ESC);
  return e >= 0 ? e : z;
}

/** Where the module's output goes (the module → host side of the serial line). */
export interface ModuleOutput {
  write(buf: Buffer): void;
  /** Bytes queued on the line and not yet delivered. */
  queued(): number;
  /** Ask the host → module side to deliver again after the module refused input. */
  resumeInput(): void;
}

interface PayloadWait {
  len: number | undefined;
  /**
   * The payload's own copy, filled as bytes arrive: the host's chunks are views of its write
   * buffers, which it may reuse once they are delivered, so each byte is copied here once.
   */
  buf: Buffer;
  got: number;
  resolve: (v: Buffer | 'aborted' | 'timeout' | undefined) => void;
  cancelTimer?: () => void;
}

/**
 * The module's AT interpreter: input framing (terminators, echo, prompt payloads), dispatch to the
 * command sets, result codes and held URCs, power and boot, and the fault switches. The general
 * commands live in {@link BasicCommands}, the socket commands in {@link TcpIp}.
 */
export class AtModule implements ModuleIo {
  readonly log = log;
  readonly faults = new CommandFaults();
  epoch = 0;
  private readonly tcpip: TcpIp;
  private readonly basics: BasicCommands;
  private readonly handlers = new Map<string, Handler>();
  private input: Buffer = Buffer.alloc(0);
  private pendingLF = false;
  private discarding = false;
  private busy = false;
  private payload: PayloadWait | undefined;
  private promptOpen = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private swallow = false;
  private stalledUntil = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private powered = true;
  private destroyed = false;

  constructor(
    readonly opts: ResolvedOptions,
    private readonly out: ModuleOutput,
    private readonly transcript: Transcript,
  ) {
    this.tcpip = new TcpIp(this);
    this.basics = new BasicCommands(opts, {
      final: (text) => this.final(text),
      reboot: (ms) => this.reboot(ms),
      registered: () => this.registered(),
      bearerLost: () => {
        if (this.tcpip.bearer !== 'IP INITIAL') this.tcpip.deactivatePdp();
      },
    });
    for (const set of [this.basics, this.tcpip]) for (const [k, v] of set.handlers) this.handlers.set(k, v);
  }

  // ---------------------------------------------------------------- ModuleIo

  line(text: string): void {
    this.out.write(Buffer.from(`\r\n${text}\r\n`, 'latin1'));
  }

  final(text: string): void {
    if (this.swallow) {
      this.swallow = false;
      log('swallowed final %s', text);
      return;
    }
    this.line(text);
  }

  raw(buf: Buffer): void {
    this.out.write(buf);
  }

  urc(text: string | null, data: Buffer[] = []): void {
    const parts = text === null ? data : [Buffer.from(`\r\n${text}\r\n`, 'latin1'), ...data];
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (!this.powered) return;
    if (this.promptOpen) {
      // The host is typing a payload; the module keeps its reports until the send completes.
      this.held.push(buf);
      this.heldBytes += buf.length;
      if (this.heldBytes > MAX_HELD) this.releaseHeld();
      return;
    }
    this.out.write(buf);
  }

  cme(code: number): string {
    return this.basics.cme(code);
  }

  prompt(
    len: number | undefined,
    show: boolean,
    timeoutMs?: number,
  ): Promise<Buffer | 'aborted' | 'timeout' | undefined> {
    return new Promise((resolve) => {
      this.payload = { len, buf: Buffer.allocUnsafe(len ?? MAX_OPEN_PAYLOAD), got: 0, resolve };
      this.promptOpen = true;
      if (show) this.raw(Buffer.from('\r\n> ', 'latin1'));
      if (this.opts.quirks.has('urc-after-prompt'))
        this.out.write(Buffer.from('\r\n+NITZ: 24/07/23,08:35:01+32,0\r\n', 'latin1'));
      if (timeoutMs !== undefined) {
        const p = this.payload;
        p.cancelTimer = this.later(timeoutMs, () => this.endPayload('timeout'));
      }
      queueMicrotask(() => this.pump());
    });
  }

  later(ms: number, fn: () => void): () => void {
    const epoch = this.epoch;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.epoch === epoch && !this.destroyed) fn();
    }, ms);
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  outputPressure(): number {
    return this.out.queued() + this.heldBytes;
  }

  registered(): boolean {
    return this.powered && this.basics.registered();
  }

  // ---------------------------------------------------------------- input

  /** Bytes from the host side of the line. Returns false when the input buffer is full. */
  receive(chunk: Buffer): boolean {
    if (!this.powered || this.destroyed) return true; // a module without power hears nothing
    const view = this.input.length === 0;
    this.input = view ? chunk : Buffer.concat([this.input, chunk]);
    this.pump();
    // `chunk` is a view of the host's write buffer, which the host may reuse as soon as the line
    // reports the write delivered (right after this returns): bytes kept past now (the module is
    // busy or stalled) are copied, once. A concat above already made our own copy.
    if (view && this.input.length > 0) this.input = Buffer.from(this.input);
    return this.input.length < MAX_INPUT;
  }

  private consume(n: number): void {
    const before = this.input.length;
    this.input = this.input.subarray(n);
    if (before >= MAX_INPUT && this.input.length < MAX_INPUT) this.out.resumeInput();
  }

  private pump(): void {
    while (this.powered && !this.destroyed) {
      if (this.pendingLF && this.input.length > 0) {
        // The \r ended a command; a \n right after it belongs to the terminator (and a payload's
        // leading \n is swallowed with it: manual §12.14).
        this.pendingLF = false;
        if (this.input[0] === LF) this.consume(1);
        continue;
      }
      if (this.payload) {
        if (!this.feedPayload()) return;
        continue;
      }
      if (this.busy || this.input.length === 0) return;
      if (performance.now() < this.stalledUntil) return;
      const cr = this.input.indexOf(CR);
      if (cr < 0) {
        if (this.input.length > MAX_LINE) {
          this.discarding = true;
          this.consume(this.input.length);
        }
        return;
      }
      const lineBytes = this.input.subarray(0, cr);
      this.consume(cr + 1);
      if (this.input.length > 0) {
        if (this.input[0] === LF) this.consume(1);
      } else {
        this.pendingLF = true;
      }
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      this.startLine(lineBytes);
    }
  }

  /** Returns true when the payload completed (the loop may go on). */
  private feedPayload(): boolean {
    const p = this.payload!;
    if (this.input.length === 0) return false;
    if (p.len !== undefined) {
      const take = Math.min(p.len - p.got, this.input.length);
      p.got += this.input.copy(p.buf, p.got, 0, take);
      this.consume(take);
      if (p.got < p.len) return false;
      this.endPayload(p.buf);
      return true;
    }
    const z = firstEnd(this.input);
    const upto = z < 0 ? this.input.length : z;
    const take = Math.min(upto, MAX_OPEN_PAYLOAD - p.got);
    p.got += this.input.copy(p.buf, p.got, 0, take);
    this.consume(take);
    if (z >= 0 && take === upto) {
      const abort = this.input[0] === ESC;
      this.consume(1);
      this.endPayload(abort ? 'aborted' : p.buf.subarray(0, p.got));
      return true;
    }
    if (p.got >= MAX_OPEN_PAYLOAD) {
      this.endPayload(p.buf.subarray(0, p.got));
      return true;
    }
    return false;
  }

  private endPayload(v: Buffer | 'aborted' | 'timeout' | undefined): void {
    const p = this.payload;
    if (!p) return;
    this.payload = undefined;
    p.cancelTimer?.();
    p.resolve(v);
  }

  private releaseHeld(): void {
    this.promptOpen = false;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const b of held) this.out.write(b);
  }

  private startLine(lineBytes: Buffer): void {
    const text = lineBytes.toString('latin1').replace(/\n/g, '');
    if (this.basics.echo && text.length > 0) this.raw(Buffer.concat([lineBytes, Buffer.from([CR])]));
    const at = text.trimStart();
    if (!/^at/i.test(at)) return; // not a command: the module waits for "AT"
    this.busy = true;
    const epoch = this.epoch;
    void this.runLine(at)
      .catch((err: unknown) => log('command %s failed: %O', at, err))
      .finally(() => {
        if (this.epoch !== epoch) return;
        this.busy = false;
        if (this.promptOpen) this.releaseHeld();
        this.pump();
      });
  }

  private async runLine(text: string): Promise<void> {
    this.transcript.command(text);
    log('command %s', text);
    const epoch = this.epoch;
    if (this.opts.latencyMs > 0) await this.sleep(this.opts.latencyMs);
    while (performance.now() < this.stalledUntil) await this.sleep(this.stalledUntil - performance.now());
    if (this.epoch !== epoch) return;
    const refused = this.faults.takeRefusal(text);
    if (refused !== undefined) {
      log('fault: %s refused with %s', text, refused);
      this.final(refused);
      return;
    }
    let cmds: AtCommand[];
    try {
      cmds = splitCommands(text.slice(2));
    } catch (err) {
      if (!(err instanceof AtSyntaxError)) throw err;
      this.final('ERROR');
      return;
    }
    if (cmds.length === 0) {
      this.final('OK');
      return;
    }
    for (let i = 0; i < cmds.length; i++) {
      const cmd = cmds[i]!;
      const h = this.handlers.get(cmd.name);
      if (!h) {
        this.final('ERROR');
        return;
      }
      let r: Reply | null;
      try {
        r = await h(cmd);
      } catch (err) {
        log('handler %s threw: %O', cmd.name, err);
        r = { final: 'ERROR' };
      }
      if (this.epoch !== epoch || r === null) return;
      for (const l of r.lines ?? []) this.line(l);
      // Several commands on one line share one final result; the first failure ends the line.
      if (r.final !== 'OK' || i === cmds.length - 1) {
        this.final(r.final);
        return;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  // ---------------------------------------------------------------- faults and power

  /** Drop the next final result code. */
  swallowNextFinal(): void {
    this.swallow = true;
  }

  /** Answer nothing for `ms`; commands received meanwhile are answered afterwards. */
  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, performance.now() + ms);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      this.pump();
    }, ms + 1);
  }

  deactivatePdp(reportLinksFirst = false): void {
    this.tcpip.deactivatePdp(reportLinksFirst);
  }

  closePeer(link: number): boolean {
    return this.tcpip.closePeer(link);
  }

  outputDrained(): void {
    this.tcpip.outputDrained();
  }

  linkState(n: number): string | undefined {
    return this.tcpip.linkState(n);
  }

  /** Power lost: links dropped, state forgotten, nothing heard until {@link powerOn}. */
  powerOff(): void {
    this.epoch++;
    this.powered = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.endPayload(undefined);
    this.input = Buffer.alloc(0);
    this.pendingLF = false;
    this.discarding = false;
    this.busy = false;
    this.promptOpen = false;
    this.held = [];
    this.heldBytes = 0;
    this.swallow = false;
    this.stalledUntil = 0;
    this.tcpip.reset();
    this.out.resumeInput();
  }

  /** Boot after `delayMs`: optional bootloader garbage, `RDY`, and the network URCs once registered. */
  powerOn(delayMs: number): void {
    this.later(delayMs, () => {
      this.powered = true;
      this.basics.boot();
      if (this.opts.quirks.has('boot-garbage')) this.raw(Buffer.from("^boot.rom'v'!", 'latin1'));
      this.urc('RDY');
      if (this.basics.simReady) this.later(this.opts.registrationDelayMs, () => this.networkUp());
    });
  }

  reboot(delayMs: number): void {
    this.powerOff();
    this.powerOn(delayMs);
  }

  private networkUp(): void {
    this.urc('^MODE: 17,17');
    this.urc('+E_UTRAN Service');
    this.urc('+CGEV: ME PDN ACT 1');
    this.urc('+NITZ: 24/07/23,08:35:01+32,0');
  }

  destroy(): void {
    this.destroyed = true;
    this.epoch++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.endPayload(undefined);
    this.tcpip.destroy();
  }
}
