import { Duplex } from 'node:stream';

interface LineHold {
  line: string;
  until: string;
  held: Buffer[];
  seen: boolean;
}

interface CommandHold {
  prefix: string;
  untilModuleLine: string;
  active: boolean;
}

/** Splits a byte stream into CRLF lines (latin1), for recording what crossed the interposer. */
class LineLog {
  readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly onLine?: (line: string) => void) {}
  push(buf: Buffer): void {
    const parts = (this.partial + buf.toString('latin1')).split('\n');
    this.partial = parts.pop()!;
    for (const p of parts) {
      const line = p.replace(/\r/g, '');
      if (line.length === 0) continue;
      this.lines.push(line);
      this.onLine?.(line);
    }
  }
}

/**
 * Sits between a `Modem` and the mock's host stream and reorders what the two sides see, so a
 * race (a URC against a command's answer, a command against a URC) can be replayed in either
 * order instead of whichever the scheduler happens to produce.
 */
export class Interposer {
  /** The stream to give `Modem.open({ stream })`. */
  readonly host: Duplex;
  /** Lines as the module sent them. */
  readonly moduleLines: string[];
  /** Lines as the host received them (after any hold). */
  readonly hostLines: string[];

  private readonly moduleLog: LineLog;
  private readonly hostLog: LineLog;
  private readonly lineHolds: LineHold[] = [];
  private readonly commandHolds: CommandHold[] = [];
  private heldWrites: Array<{ chunk: Buffer; cb: (err?: Error | null) => void }> = [];
  private pending = '';

  constructor(private readonly module: Duplex) {
    this.moduleLog = new LineLog((line) => this.onModuleLine(line));
    this.moduleLines = this.moduleLog.lines;
    this.hostLog = new LineLog((line) => this.onHostLine(line));
    this.hostLines = this.hostLog.lines;
    const self = this;
    this.host = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        self.fromHost(chunk, cb);
      },
      destroy(err, cb) {
        module.destroy();
        cb(err);
      },
    });
    module.on('data', (b: Buffer) => this.fromModule(b));
    module.on('end', () => this.host.push(null));
    module.on('close', () => this.host.destroy());
    module.on('error', (e: Error) => this.host.destroy(e));
  }

  /** Hold the module's line `line` (exactly) until a line `until` has reached the host. */
  holdLine(line: string, until: string): void {
    this.lineHolds.push({ line, until, held: [], seen: false });
  }

  /**
   * Hold the module's line `line` (exactly) until `release()` is called. `seen` tells whether the
   * module has sent it (and it is being held).
   */
  holdLineUntilReleased(line: string): { release(): void; readonly seen: boolean } {
    const hold: LineHold = { line, until: '', held: [], seen: false };
    this.lineHolds.push(hold);
    return {
      release: () => {
        const i = this.lineHolds.indexOf(hold);
        if (i >= 0) this.lineHolds.splice(i, 1);
        if (hold.held.length > 0) this.toHost(Buffer.concat(hold.held));
        hold.held = [];
      },
      get seen() {
        return hold.seen;
      },
    };
  }

  /**
   * Hold the host's write starting with `prefix` (and every write after it, order kept) until the
   * module has sent the line `untilModuleLine`, even if that line is itself held from the host.
   */
  holdCommand(prefix: string, untilModuleLine: string): void {
    this.commandHolds.push({ prefix, untilModuleLine, active: false });
  }

  /** True while a host write is held by {@link holdCommand} (the command was written, the module has not seen it). */
  get holdingCommand(): boolean {
    return this.heldWrites.length > 0;
  }

  private fromHost(chunk: Buffer, cb: (err?: Error | null) => void): void {
    const text = chunk.toString('latin1');
    const hold = this.commandHolds.find((h) => !h.active && text.startsWith(h.prefix));
    if (hold) hold.active = true;
    if (hold || this.heldWrites.length > 0) {
      this.heldWrites.push({ chunk, cb });
      return;
    }
    this.module.write(chunk, cb);
  }

  private onModuleLine(line: string): void {
    for (const h of this.commandHolds.filter((c) => c.active && c.untilModuleLine === line)) {
      this.commandHolds.splice(this.commandHolds.indexOf(h), 1);
    }
    if (this.heldWrites.length > 0 && !this.commandHolds.some((h) => h.active)) {
      const writes = this.heldWrites;
      this.heldWrites = [];
      // After this chunk has been handled: the module sees the command once the line is out.
      setImmediate(() => {
        for (const w of writes) this.module.write(w.chunk, w.cb);
      });
    }
  }

  private onHostLine(line: string): void {
    for (const h of [...this.lineHolds]) {
      if (h.seen && h.until === line) {
        this.lineHolds.splice(this.lineHolds.indexOf(h), 1);
        const bytes = Buffer.concat(h.held);
        setImmediate(() => this.toHost(bytes));
      }
    }
  }

  private fromModule(buf: Buffer): void {
    this.moduleLog.push(buf);
    const segments = (this.pending + buf.toString('latin1')).split('\n');
    const tail = segments.pop()!;
    let out = '';
    for (const seg of segments) {
      const line = seg.replace(/\r/g, '');
      const hold = this.lineHolds.find((h) => !h.seen && h.line === line);
      if (hold) {
        hold.seen = true;
        // The CRLF before the line is already out; the held bytes bring their own.
        hold.held.push(Buffer.from(`\r\n${seg}\n`, 'latin1'));
        continue;
      }
      out += `${seg}\n`;
    }
    // A partial line that may become a held one waits for the rest; anything else (the `> `
    // prompt has no line end) goes out now.
    const partial = tail.replace(/\r/g, '');
    const mayBeHeld = tail.length > 0 && this.lineHolds.some((h) => !h.seen && h.line.startsWith(partial));
    this.pending = mayBeHeld ? tail : '';
    if (!mayBeHeld) out += tail;
    if (out.length > 0) this.toHost(Buffer.from(out, 'latin1'));
  }

  private toHost(bytes: Buffer): void {
    this.hostLog.push(bytes);
    this.host.push(bytes);
  }
}
