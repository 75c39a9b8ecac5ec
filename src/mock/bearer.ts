import { intArg, type AtCommand } from './command.js';
import type { CommandSet, Handler, ModuleIo, Reply } from './io.js';
import { LINKS, linkArg, type IpSettings } from './ip-settings.js';
import type { Link } from './link.js';

/** Bearer states of manual §12.40 (single- and multi-link figures). */
export type BearerState =
  | 'IP INITIAL'
  | 'IP START'
  | 'IP CONFIG'
  | 'IP GPRSACT'
  | 'IP STATUS'
  | 'IP PROCESSING'
  | 'PDP DEACT';

const OK: Reply = { final: 'OK' };

/**
 * The bearer's state machine and its commands (manual §12.40): `AT+CIPMUX`, `+CSTT`, `+CIICR`,
 * `+CIFSR`, `+CIPSHUT`, `+CIPSTATUS`, `+CIPMODE`. The links are the link table's (tcpip.ts); this
 * reads their states for `AT+CIPSTATUS` and asks the table to drop them on `AT+CIPSHUT`.
 */
export class BearerCommands implements CommandSet {
  readonly handlers = new Map<string, Handler>();
  state: BearerState = 'IP INITIAL';
  private apn = { apn: '', user: '', pwd: '' };

  constructor(
    private readonly io: ModuleIo,
    private readonly links: readonly Link[],
    /** The `AT+CIP*` switches in force (replaced on reboot). */
    private readonly switches: () => IpSettings,
    /** Drop every link without URCs (`AT+CIPSHUT`). */
    private readonly resetLinks: () => void,
  ) {
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    h('+CIPMUX', (c) => this.cipmux(c));
    h('+CSTT', (c) => this.cstt(c));
    h('+CIICR', (c) => this.ciicr(c));
    h('+CIFSR', (c) => this.cifsr(c));
    h('+CIPSHUT', (c) => this.cipshut(c));
    h('+CIPSTATUS', (c) => this.cipstatus(c));
    h('+CIPMODE', (c) => this.cipmode(c));
  }

  /** Links can be opened (multi-link `AT+CIPSTART` needs this). */
  up(): boolean {
    return this.state === 'IP STATUS' || this.state === 'IP PROCESSING';
  }

  /** `AT+CIPSTATUS` state in single-link mode: the link's state once it exists. */
  singleState(): string {
    const l = this.links[0]!;
    if (this.state === 'PDP DEACT') return 'PDP DEACT';
    switch (l.state) {
      case 'CONNECTING':
        return 'TCP CONNECTING';
      case 'CONNECTED':
        return 'CONNECT OK';
      case 'REMOTE CLOSING':
      case 'CLOSING':
        return 'TCP CLOSING';
      case 'CLOSED':
        return 'TCP CLOSED';
      default:
        return this.state;
    }
  }

  private cipmux(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: [`+CIPMUX: ${this.switches().mux}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPMUX: (0,1)'], final: 'OK' };
    const v = intArg(c.args[0], 0, 1);
    if (c.type !== 'set' || v === undefined) return { final: 'ERROR' };
    // Only in IP INITIAL and with no link left, even a CLOSED one (field: the mode silently stays).
    if (this.state !== 'IP INITIAL' || this.links.some((l) => l.state !== 'INITIAL')) return { final: this.io.cme(3) };
    this.switches().mux = v;
    return OK;
  }

  private cstt(c: AtCommand): Reply {
    if (c.type === 'read')
      return { lines: [`+CSTT: "${this.apn.apn}","${this.apn.user}","${this.apn.pwd}"`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CSTT: "APN","USER","PWD"'], final: 'OK' };
    if (this.state !== 'IP INITIAL' || (!this.switches().mux && this.links[0]!.state !== 'INITIAL'))
      return { final: this.io.cme(3) };
    const [apn, user, pwd] = c.args;
    if ((apn && apn.value.length > 128) || (user && user.value.length > 32) || (pwd && pwd.value.length > 32)) {
      return { final: this.io.cme(3) };
    }
    this.apn = { apn: apn?.value ?? '', user: user?.value ?? '', pwd: pwd?.value ?? '' };
    this.state = 'IP START';
    return OK;
  }

  private ciicr(c: AtCommand): Reply | null {
    if (c.type !== 'exec') return { final: 'ERROR' };
    if (this.state !== 'IP START') return { final: this.io.cme(3) };
    if (!this.io.registered()) {
      // As in the field transcript (§7.6): the activation fails with +PDP: DEACT, then 65535.
      this.io.urc('+PDP: DEACT');
      this.state = 'PDP DEACT';
      return { final: this.io.cme(65535) };
    }
    this.state = 'IP GPRSACT';
    return OK;
  }

  private cifsr(c: AtCommand): Reply {
    if (c.type !== 'exec') return { final: 'ERROR' };
    const up = this.state === 'IP GPRSACT' || this.state === 'IP STATUS' || this.state === 'IP PROCESSING';
    if (!up) return { final: 'ERROR' };
    if (this.state === 'IP GPRSACT') this.state = 'IP STATUS';
    return { final: this.io.opts.localIp }; // bare IP is the final result: no OK
  }

  private cipshut(c: AtCommand): Reply {
    if (c.type !== 'exec') return { final: 'ERROR' };
    this.resetLinks();
    this.state = 'IP INITIAL';
    return { final: 'SHUT OK' };
  }

  private cipstatus(c: AtCommand): Reply | null {
    if (c.type === 'test') return OK;
    if (c.type === 'set') {
      const n = linkArg(c.args[0]);
      if (!this.switches().mux || n === undefined) return { final: this.io.cme(3) };
      return { lines: [this.statusLine(n, false)], final: 'OK' };
    }
    if (c.type !== 'exec') return { final: 'ERROR' };
    // OK comes first, the state lines after it (manual §12.17, field).
    this.io.final('OK');
    if (!this.switches().mux) {
      this.io.line(`STATE: ${this.singleState()}`);
      return null;
    }
    this.io.line(`STATE: ${this.state}`);
    for (let n = 0; n < LINKS; n++) this.io.line(this.statusLine(n, true));
    return null;
  }

  private statusLine(n: number, prefix: boolean): string {
    const l = this.links[n]!;
    const p = prefix ? 'C: ' : '';
    if (l.state === 'INITIAL') return `${p}${n},,"","","","INITIAL"`;
    return `${p}${n},0,"TCP","${l.ip || l.host}","${l.port}","${l.state}"`;
  }

  private cipmode(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: ['+CIPMODE: 0'], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPMODE: (0-NORMAL MODE,1-TRANSPARENT MODE)'], final: 'OK' };
    const v = intArg(c.args[0], 0, 1);
    if (v === undefined) return { final: this.io.cme(3) };
    // Transparent mode is out of the mock's scope; say so rather than pretend.
    return v === 0 ? OK : { final: this.io.cme(4) };
  }
}
