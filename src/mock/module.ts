import createDebug from 'debug';
import { AtSyntaxError, intArg, splitCommands, type AtCommand } from './command.js';
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
const OK: Reply = { final: 'OK' };

const CME_TEXT: Record<number, string> = {
  3: 'operation not allowed',
  4: 'operation not supported',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  16: 'incorrect password',
  50: 'EXE_FAIL',
  51: 'NO MEMORY',
  65535: 'Other Error',
};

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
 * The module's AT interpreter: input framing (terminators, echo, prompt payloads), result codes,
 * identity/SIM/network commands, boot, and the fault switches. Socket commands live in {@link TcpIp}.
 */
export class AtModule implements ModuleIo {
  readonly log = log;
  readonly faults = new CommandFaults();
  epoch = 0;
  private readonly tcpip: TcpIp;
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
  // settings
  private echo = true;
  private savedEcho = true;
  private cmee = 1;
  private cfun = 1;
  private attached = true;
  private sim: ResolvedOptions['sim'];
  private registeredAt: number;
  private ipr = 115200;
  private ifc = '0,0';
  private readonly regMode = { CREG: 0, CEREG: 0, CGREG: 0 };

  constructor(
    readonly opts: ResolvedOptions,
    private readonly out: ModuleOutput,
    private readonly transcript: Transcript,
  ) {
    this.sim = opts.sim;
    this.registeredAt = performance.now() + opts.registrationDelayMs;
    this.tcpip = new TcpIp(this);
    this.registerBasics();
    for (const [k, v] of this.tcpip.handlers) this.handlers.set(k, v);
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
    if (this.cmee === 0) return 'ERROR';
    if (this.cmee === 2) return `+CME ERROR: ${CME_TEXT[code] ?? 'unknown'}`;
    return `+CME ERROR: ${code}`;
  }

  prompt(len: number | undefined, show: boolean, timeoutMs?: number): Promise<Buffer | 'aborted' | 'timeout' | undefined> {
    return new Promise((resolve) => {
      this.payload = { len, buf: Buffer.allocUnsafe(len ?? MAX_OPEN_PAYLOAD), got: 0, resolve };
      this.promptOpen = true;
      if (show) this.raw(Buffer.from('\r\n> ', 'latin1'));
      if (this.opts.quirks.has('urc-after-prompt')) this.out.write(Buffer.from('\r\n+NITZ: 24/07/23,08:35:01+32,0\r\n', 'latin1'));
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
    return this.powered && this.cfun === 1 && this.sim === 'ready' && this.attached && performance.now() >= this.registeredAt;
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
    if (this.echo && text.length > 0) this.raw(Buffer.concat([lineBytes, Buffer.from([CR])]));
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
      this.echo = this.opts.quirks.has('echo-after-reboot') ? true : this.savedEcho;
      this.cmee = 1;
      this.cfun = 1;
      this.attached = true;
      if (this.sim === 'ready' && this.opts.sim !== 'ready') this.sim = this.opts.sim; // PIN asked again
      this.registeredAt = performance.now() + this.opts.registrationDelayMs;
      if (this.opts.quirks.has('boot-garbage')) this.raw(Buffer.from("^boot.rom'v'!", 'latin1'));
      this.urc('RDY');
      if (this.sim === 'ready') this.later(this.opts.registrationDelayMs, () => this.networkUp());
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

  // ---------------------------------------------------------------- general commands

  private registerBasics(): void {
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    const info = (text: string): Reply => ({ lines: [text], final: 'OK' });
    const simError = (): Reply | undefined => {
      if (this.sim === 'absent') return { final: this.cme(10) };
      if (this.sim === 'pin') return { final: this.cme(11) };
      if (this.sim === 'puk') return { final: this.cme(12) };
      return undefined;
    };
    h('E', (c) => {
      const v = c.type === 'exec' ? 0 : intArg(c.args[0], 0, 1);
      if (v === undefined) return { final: 'ERROR' };
      this.echo = v === 1;
      return OK;
    });
    h('I', () => info(this.opts.firmware));
    h('+VER', () => info(this.opts.firmware));
    h('&W', () => {
      this.savedEcho = this.echo;
      return OK;
    });
    h('&F', () => {
      this.echo = true;
      this.cmee = 1;
      return OK;
    });
    h('Z', () => {
      this.echo = this.savedEcho;
      return OK;
    });
    h('Q', () => OK);
    h('V', () => OK);
    h('+CMEE', (c) => {
      if (c.type === 'read') return info(`+CMEE: ${this.cmee}`);
      if (c.type === 'test') return info('+CMEE: (0-2)');
      const v = intArg(c.args[0], 0, 2);
      if (v === undefined) return { final: this.cme(3) };
      this.cmee = v;
      return OK;
    });
    h('+CGMR', () => info(`+CGMR: "${this.opts.firmware}"`));
    h('+CGMI', () => info('+CGMI: "AirM2M"'));
    h('+CGMM', () => info(`+CGMM: "${this.opts.model}"`));
    h('+CGSN', (c) => (c.type === 'set' ? info(`+CGSN: "${this.opts.imei}"`) : info(this.opts.imei)));
    h('+CCID', () => simError() ?? info(this.opts.iccid));
    h('+ICCID', () => simError() ?? info(`+ICCID: ${this.opts.iccid}`));
    h('+CIMI', () => simError() ?? info(this.opts.imsi));
    h('+CPIN', (c) => {
      if (c.type === 'test') return OK;
      if (c.type === 'read') {
        if (this.sim === 'absent') return { final: this.cme(10) };
        return info(`+CPIN: ${this.sim === 'ready' ? 'READY' : this.sim === 'pin' ? 'SIM PIN' : 'SIM PUK'}`);
      }
      if (this.sim === 'absent') return { final: this.cme(10) };
      if (this.sim !== 'pin') return { final: this.cme(3) };
      if (c.args[0]?.value !== this.opts.pin) return { final: this.cme(16) };
      this.sim = 'ready';
      this.registeredAt = performance.now() + this.opts.registrationDelayMs;
      return OK;
    });
    h('+CSQ', (c) => {
      if (c.type === 'test') return info('+CSQ: (0-31,99),(0-7,99)');
      const on = this.cfun === 1 && this.sim !== 'absent';
      return info(on ? `+CSQ: ${this.opts.rssi},0` : '+CSQ: 99,99');
    });
    h('+CESQ', () => info('+CESQ: 99,99,255,255,31,41'));
    const reg = (kind: 'CREG' | 'CEREG' | 'CGREG'): Handler => (c) => {
      if (c.type === 'test') return info(`+${kind}: (0-2)`);
      if (c.type === 'set') {
        const v = intArg(c.args[0], 0, 2);
        if (v === undefined) return { final: this.cme(3) };
        this.regMode[kind] = v;
        return OK;
      }
      const prefix = kind === 'CEREG' && this.opts.quirks.has('cgreg-for-cereg') ? 'CGREG' : kind;
      return info(`+${prefix}: ${this.regMode[kind]},${this.regStat()}`);
    };
    h('+CREG', reg('CREG'));
    h('+CEREG', reg('CEREG'));
    h('+CGREG', reg('CGREG'));
    h('+CGATT', (c) => {
      if (c.type === 'read') return info(`+CGATT: ${this.registered() ? 1 : 0}`);
      if (c.type === 'test') return info('+CGATT: (0,1)');
      const v = intArg(c.args[0], 0, 1);
      if (v === undefined) return { final: this.cme(3) };
      const was = this.attached;
      this.attached = v === 1;
      if (was && !this.attached && this.tcpip.bearer !== 'IP INITIAL') this.tcpip.deactivatePdp();
      return OK;
    });
    h('+COPS', (c) => {
      if (c.type === 'read') return info(this.registered() ? '+COPS: 0,2,"46001",7' : '+COPS: 0');
      if (c.type === 'test') return info('+COPS: (2,"CHN-UNICOM","UNICOM","46001",7),,(0-4),(0-2)');
      return OK;
    });
    h('+CFUN', (c) => {
      if (c.type === 'read') return info(`+CFUN: ${this.cfun}`);
      if (c.type === 'test') return info('+CFUN: (0,1,4),(0,1)');
      const v = c.args[0]?.value;
      if (v !== '0' && v !== '1' && v !== '4') return { final: this.cme(3) };
      if (c.args[1]?.value === '1') {
        this.final('OK');
        this.reboot(this.opts.rebootDelayMs);
        return null;
      }
      this.cfun = Number(v);
      if (this.cfun !== 1 && this.tcpip.bearer !== 'IP INITIAL') this.tcpip.deactivatePdp();
      if (this.cfun === 1) this.registeredAt = performance.now() + this.opts.registrationDelayMs;
      return OK;
    });
    h('+RESET', () => {
      this.final('OK');
      this.reboot(this.opts.rebootDelayMs);
      return null;
    });
    h('+IPR', (c) => {
      if (c.type === 'read') return info(`+IPR: ${this.ipr}`);
      if (c.type === 'test') return info('+IPR: (600,1200,2400,4800,9600,14400,19200,28800,38400,57600,115200,230400),(0,600,1200,2400,4800,9600,14400,19200,28800,38400,57600,115200,230400,460800,921600)');
      const v = intArg(c.args[0], 0, 921_600);
      if (v === undefined) return { final: this.cme(3) };
      this.ipr = v;
      return OK;
    });
    h('+IFC', (c) => {
      if (c.type === 'read') return info(`+IFC: ${this.ifc}`);
      if (c.type === 'test') return info('+IFC: (0-2),(0-2)');
      const a = intArg(c.args[0], 0, 2);
      const b = intArg(c.args[1], 0, 2) ?? a;
      if (a === undefined || b === undefined) return { final: this.cme(3) };
      this.ifc = `${a},${b}`;
      return OK;
    });
    h('+CGACT', (c) => (c.type === 'read' ? info(`+CGACT: 1,${this.registered() ? 1 : 0}`) : OK));
    h('+CGPADDR', () => info(`+CGPADDR: 1,"${this.opts.localIp}"`));
    h('+CGDCONT', (c) => (c.type === 'read' ? info(`+CGDCONT: 1,"IP","cmnet","${this.opts.localIp}"`) : OK));
  }

  private regStat(): number {
    if (this.cfun !== 1 || this.sim === 'absent' || this.sim !== 'ready') return 0;
    return performance.now() >= this.registeredAt ? 1 : 2;
  }
}
