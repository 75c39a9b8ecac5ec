import { intArg } from './command.js';
import type { CommandSet, Handler, Reply } from './io.js';
import type { ResolvedOptions } from './options.js';

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

/** What the general commands need from the module core. */
export interface BasicHost {
  /** The final result code of the running command. */
  final(text: string): void;
  /** Power-cycle after `delayMs` (`AT+CFUN=1,1`, `AT+RESET`). */
  reboot(delayMs: number): void;
  /** Registered and attached, and powered. */
  registered(): boolean;
  /** The module left the network (detached, or `AT+CFUN` other than 1): an active bearer goes down. */
  bearerLost(): void;
}

/**
 * The general command set: echo and error modes (`ATE`, `AT+CMEE`, `AT&W`…), identity, SIM and
 * PIN, signal, registration and attach, `AT+CFUN`, `AT+IPR` / `AT+IFC`. Owns the settings these
 * change and the result text of a CME error under the current `AT+CMEE` mode.
 */
export class BasicCommands implements CommandSet {
  readonly handlers = new Map<string, Handler>();
  /** `ATE`: whether command lines are echoed. */
  echo = true;
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
    private readonly opts: ResolvedOptions,
    private readonly host: BasicHost,
  ) {
    this.sim = opts.sim;
    this.registeredAt = performance.now() + opts.registrationDelayMs;
    this.register();
  }

  /** The final result text for a CME error under the current `AT+CMEE` mode. */
  cme(code: number): string {
    if (this.cmee === 0) return 'ERROR';
    if (this.cmee === 2) return `+CME ERROR: ${CME_TEXT[code] ?? 'unknown'}`;
    return `+CME ERROR: ${code}`;
  }

  /** Full function, SIM ready, attached and past the registration delay (power is the core's). */
  registered(): boolean {
    return this.cfun === 1 && this.sim === 'ready' && this.attached && performance.now() >= this.registeredAt;
  }

  /** The SIM is unlocked (the network URCs follow a boot only then). */
  get simReady(): boolean {
    return this.sim === 'ready';
  }

  /** Boot: the settings a restart resets; the PIN is asked again. */
  boot(): void {
    this.echo = this.opts.quirks.has('echo-after-reboot') ? true : this.savedEcho;
    this.cmee = 1;
    this.cfun = 1;
    this.attached = true;
    if (this.sim === 'ready' && this.opts.sim !== 'ready') this.sim = this.opts.sim; // PIN asked again
    this.registeredAt = performance.now() + this.opts.registrationDelayMs;
  }

  private register(): void {
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
    const reg =
      (kind: 'CREG' | 'CEREG' | 'CGREG'): Handler =>
      (c) => {
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
      if (c.type === 'read') return info(`+CGATT: ${this.host.registered() ? 1 : 0}`);
      if (c.type === 'test') return info('+CGATT: (0,1)');
      const v = intArg(c.args[0], 0, 1);
      if (v === undefined) return { final: this.cme(3) };
      const was = this.attached;
      this.attached = v === 1;
      if (was && !this.attached) this.host.bearerLost();
      return OK;
    });
    h('+COPS', (c) => {
      if (c.type === 'read') return info(this.host.registered() ? '+COPS: 0,2,"46001",7' : '+COPS: 0');
      if (c.type === 'test') return info('+COPS: (2,"CHN-UNICOM","UNICOM","46001",7),,(0-4),(0-2)');
      return OK;
    });
    h('+CFUN', (c) => {
      if (c.type === 'read') return info(`+CFUN: ${this.cfun}`);
      if (c.type === 'test') return info('+CFUN: (0,1,4),(0,1)');
      const v = c.args[0]?.value;
      if (v !== '0' && v !== '1' && v !== '4') return { final: this.cme(3) };
      if (c.args[1]?.value === '1') {
        this.host.final('OK');
        this.host.reboot(this.opts.rebootDelayMs);
        return null;
      }
      this.cfun = Number(v);
      if (this.cfun !== 1) this.host.bearerLost();
      if (this.cfun === 1) this.registeredAt = performance.now() + this.opts.registrationDelayMs;
      return OK;
    });
    h('+RESET', () => {
      this.host.final('OK');
      this.host.reboot(this.opts.rebootDelayMs);
      return null;
    });
    h('+IPR', (c) => {
      if (c.type === 'read') return info(`+IPR: ${this.ipr}`);
      if (c.type === 'test')
        return info(
          '+IPR: (600,1200,2400,4800,9600,14400,19200,28800,38400,57600,115200,230400),(0,600,1200,2400,4800,9600,14400,19200,28800,38400,57600,115200,230400,460800,921600)',
        );
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
    h('+CGACT', (c) => (c.type === 'read' ? info(`+CGACT: 1,${this.host.registered() ? 1 : 0}`) : OK));
    h('+CGPADDR', () => info(`+CGPADDR: 1,"${this.opts.localIp}"`));
    h('+CGDCONT', (c) => (c.type === 'read' ? info(`+CGDCONT: 1,"IP","cmnet","${this.opts.localIp}"`) : OK));
  }

  private regStat(): number {
    if (this.cfun !== 1 || this.sim === 'absent' || this.sim !== 'ready') return 0;
    return performance.now() >= this.registeredAt ? 1 : 2;
  }
}
