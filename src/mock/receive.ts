import { intArg, type AtCommand } from './command.js';
import type { CommandSet, Handler, ModuleIo, Reply } from './io.js';
import { linkArg, MAX_SEND, type IpSettings } from './ip-settings.js';
import type { Link } from './link.js';

const MAX_HEX_READ = 730;
const CRLF = Buffer.from('\r\n');
const OK: Reply = { final: 'OK' };

/**
 * How bytes a link received reach the host: pushed as `+RECEIVE,<n>,<len>:` / `+IPD,<len>:` /
 * raw (manual §4.6), or held and announced with `+CIPRXGET: 1,<n>` until the host pulls them with
 * `AT+CIPRXGET=2|3,…` (§4.7). Holds back the link's socket while the line or the buffer is full.
 */
export class ReceivePath implements CommandSet {
  readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly io: ModuleIo,
    private readonly links: readonly Link[],
    /** The `AT+CIP*` switches in force (replaced on reboot). */
    private readonly switches: () => IpSettings,
    /** Report the link closed by its peer (the link table's `<n>, CLOSED`). */
    private readonly reportClosed: (link: Link) => void,
  ) {
    this.handlers.set('+CIPRXGET', (c) => this.ciprxget(c));
  }

  /** Bytes from the link's socket. */
  data(link: Link, chunk: Buffer): void {
    if (this.switches().rxget === 0) {
      this.pushOut(link, chunk);
      return;
    }
    link.rx.push(chunk);
    link.rxBytes += chunk.length;
    if (link.rxBytes >= this.io.opts.rxBufferBytes) link.pauseFor('rx');
    if (this.switches().rxget === 5 || !link.announced) {
      link.announced = true;
      this.io.urc(this.switches().mux ? `+CIPRXGET: 1,${link.id}` : '+CIPRXGET: 1');
    }
  }

  /** Push mode: write the bytes to the line now, in chunks of at most 1460. */
  private pushOut(link: Link, chunk: Buffer): void {
    for (let off = 0; off < chunk.length; off += MAX_SEND) {
      const part = chunk.subarray(off, Math.min(off + MAX_SEND, chunk.length));
      if (this.switches().mux) {
        this.io.urc(`+RECEIVE,${link.id},${part.length}:`, this.switches().rxf === 0 ? [part, CRLF] : [part]);
      } else if (this.switches().head) {
        const hdr = `\r\n+IPD,${part.length}${this.switches().showtp ? ',TCP' : ''}:`;
        this.io.urc(null, [Buffer.from(hdr, 'latin1'), part, ...(this.switches().rxf === 0 ? [CRLF] : [])]);
      } else {
        this.io.urc(null, [part]);
      }
    }
    if (this.io.outputPressure() > this.io.opts.lineHighWater) {
      for (const l of this.links) l.pauseFor('line');
    }
  }

  private ciprxget(c: AtCommand): Reply | null {
    if (c.type === 'read') return { lines: [`+CIPRXGET: ${this.switches().rxget}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPRXGET: (0-5),(0-5),(1-1460)'], final: 'OK' };
    if (c.type !== 'set') return { final: 'ERROR' };
    const mode = intArg(c.args[0], 0, 5);
    if (mode === undefined) return { final: this.io.cme(3) };
    if (mode === 0 || mode === 1 || mode === 5) {
      if (c.args.length !== 1) return { final: this.io.cme(3) };
      const wasPull = this.switches().rxget !== 0;
      this.switches().rxget = mode;
      if (mode === 0 && wasPull) this.flushToPush();
      return OK;
    }
    if (this.switches().rxget === 0) return { final: this.io.cme(3) };
    const multi = this.switches().mux === 1;
    const rest = c.args.slice(1);
    let n = 0;
    if (multi) {
      const id = linkArg(rest.shift());
      if (id === undefined) return { final: this.io.cme(3) };
      n = id;
    }
    const l = this.links[n]!;
    const pre = `+CIPRXGET: ${mode},${multi ? `${n},` : ''}`;
    if (mode === 4) {
      if (rest.length !== 0) return { final: this.io.cme(3) };
      return { lines: [`${pre}${l.rxBytes}`], final: 'OK' };
    }
    const len = intArg(rest[0], 1, mode === 3 ? MAX_HEX_READ : MAX_SEND);
    if (len === undefined || rest.length !== 1) return { final: this.io.cme(3) }; // a refused read consumes nothing
    if (l.state === 'INITIAL' || (l.state === 'CLOSED' && l.rxBytes === 0)) return { final: this.io.cme(3) };
    const data = l.take(len);
    l.announced = false;
    if (l.rxBytes < this.io.opts.rxBufferBytes) l.resumeFor('rx');
    this.io.line(`${pre}${data.length},${l.rxBytes}`);
    if (data.length > 0) {
      this.io.raw(Buffer.concat([mode === 3 ? Buffer.from(data.toString('hex').toUpperCase(), 'latin1') : data, CRLF]));
    }
    this.io.final('OK');
    if (l.state === 'REMOTE CLOSING' && l.rxBytes === 0) this.reportClosed(l);
    return null;
  }

  private flushToPush(): void {
    for (const l of this.links) {
      if (l.rxBytes > 0) this.pushOut(l, l.take(l.rxBytes));
      l.announced = false;
      l.resumeFor('rx');
      if (l.state === 'REMOTE CLOSING') this.reportClosed(l);
    }
  }
}
