import net from 'node:net';
import type tls from 'node:tls';
import { intArg, type AtArg, type AtCommand } from './command.js';
import { ModuleFiles, SSL_KEYS, SslConfig, validSslContext } from './files.js';
import type { Handler, ModuleIo, Reply } from './io.js';
import { Link, type LinkListener } from './link.js';
import { resolveHost } from './resolve.js';

/** Bearer states of manual §12.40 (single- and multi-link figures). */
export type BearerState = 'IP INITIAL' | 'IP START' | 'IP CONFIG' | 'IP GPRSACT' | 'IP STATUS' | 'IP PROCESSING' | 'PDP DEACT';

const LINKS = 6;
const MAX_SEND = 1460;
const MAX_HEX_READ = 730;
const MAX_FSWRITE = 10_240;
const CRLF = Buffer.from('\r\n');
const OK: Reply = { final: 'OK' };

/** Settings `AT+CIPSHUT` keeps but a reboot resets. */
interface IpSettings {
  mux: number;
  qsend: number;
  rxf: number;
  head: number;
  sprt: number;
  showtp: number;
  srip: number;
  rxget: number;
  ssl: number;
}

const DEFAULTS: IpSettings = { mux: 0, qsend: 0, rxf: 0, head: 0, sprt: 1, showtp: 0, srip: 0, rxget: 0, ssl: 0 };

/**
 * The TCP/IP command set (manual §12): bearer state machine, links backed by real host sockets,
 * send with prompt, push and pull receive, module-side TLS, and the flash file system for certificates.
 */
export class TcpIp implements LinkListener {
  readonly handlers = new Map<string, Handler>();
  readonly files = new ModuleFiles();
  readonly ssl = new SslConfig();
  bearer: BearerState = 'IP INITIAL';
  s: IpSettings = { ...DEFAULTS };
  private apn = { apn: '', user: '', pwd: '' };
  private readonly links: Link[];
  /** Bumped whenever a link is closed/reset, so a late resolve or connect is recognised as stale. */
  private readonly attempts: number[] = new Array<number>(LINKS).fill(0);

  constructor(private readonly io: ModuleIo) {
    this.links = Array.from({ length: LINKS }, (_, i) => new Link(i, this));
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    h('+CIPMUX', (c) => this.cipmux(c));
    h('+CSTT', (c) => this.cstt(c));
    h('+CIICR', (c) => this.ciicr(c));
    h('+CIFSR', (c) => this.cifsr(c));
    h('+CIPSHUT', (c) => this.cipshut(c));
    h('+CIPSTATUS', (c) => this.cipstatus(c));
    h('+CIPSTART', (c) => this.cipstart(c));
    h('+CIPSEND', (c) => this.cipsend(c));
    h('+CIPCLOSE', (c) => this.cipclose(c));
    h('+CIPACK', (c) => this.cipack(c));
    h('+CIPRXGET', (c) => this.ciprxget(c));
    h('+CDNSGIP', (c) => this.cdnsgip(c));
    h('+CIPSSL', (c) => this.cipssl(c));
    h('+SSLCFG', (c) => this.sslcfg(c));
    h('+FSCREATE', (c) => this.fscreate(c));
    h('+FSWRITE', (c) => this.fswrite(c));
    h('+FSLS', () => ({ lines: this.files.names(), final: 'OK' }));
    h('+FSDEL', (c) => this.fsdel(c));
    h('+FSREAD', (c) => this.fsread(c));
    h('+CIPQSEND', (c) => this.flag(c, 'qsend', 2));
    h('+CIPRXF', (c) => this.flag(c, 'rxf', 1));
    h('+CIPHEAD', (c) => this.flag(c, 'head', 1));
    h('+CIPSPRT', (c) => this.flag(c, 'sprt', 2));
    h('+CIPSHOWTP', (c) => this.flag(c, 'showtp', 1));
    h('+CIPSRIP', (c) => this.flag(c, 'srip', 1));
    h('+CIPTKA', (c) => (c.type === 'read' ? { lines: ['+CIPTKA:0,7200,75,9'], final: 'OK' } : OK));
    h('+CIPMODE', (c) => this.cipmode(c));
  }

  // ---- state shared with the core ----

  /** Reboot / power loss: every link dropped without URCs, settings back to defaults. */
  reset(): void {
    for (const l of this.links) this.resetLink(l);
    this.bearer = 'IP INITIAL';
    this.s = { ...DEFAULTS };
    this.ssl.clear();
  }

  /**
   * Fault: bearer lost (`+PDP: DEACT`); links become unusable until `AT+CIPSHUT`. With
   * `reportLinksFirst`, connected links are reported `<n>, CLOSED` just before (some firmware does).
   */
  deactivatePdp(reportLinksFirst = false): void {
    for (const l of this.links) {
      if (l.state === 'INITIAL') continue;
      if (reportLinksFirst && l.state === 'CONNECTED') this.io.urc(this.s.mux ? this.linkUrc(l.id, 'CLOSED') : 'CLOSED');
      this.attempts[l.id]!++;
      l.drop();
      l.state = 'CLOSED';
      l.rx = [];
      l.rxBytes = 0;
    }
    this.bearer = 'PDP DEACT';
    this.io.urc('+PDP: DEACT');
  }

  /** Fault: the server closes link `n`. */
  closePeer(n: number): boolean {
    const l = this.links[n];
    if (!l || !l.active || l.state !== 'CONNECTED') return false;
    l.peerClose();
    return true;
  }

  /** The serial line drained: push-mode links may read their sockets again. */
  outputDrained(): void {
    for (const l of this.links) l.resumeFor('line');
  }

  /** Link state for tests and diagnostics. */
  linkState(n: number): string | undefined {
    return this.links[n]?.state;
  }

  destroy(): void {
    for (const l of this.links) this.resetLink(l);
  }

  // ---- LinkListener ----

  connected(link: Link): void {
    // Reported by the CIPSTART flow itself (it honours connectDelayMs).
    this.pendingConnect.get(link)?.();
  }

  failed(link: Link, reason: string): void {
    this.io.log('link %d connect failed: %s', link.id, reason);
    this.pendingFail.get(link)?.(reason);
  }

  data(link: Link, chunk: Buffer): void {
    if (this.s.rxget === 0) {
      this.pushOut(link, chunk);
      return;
    }
    link.rx.push(chunk);
    link.rxBytes += chunk.length;
    if (link.rxBytes >= this.io.opts.rxBufferBytes) link.pauseFor('rx');
    if (this.s.rxget === 5 || !link.announced) {
      link.announced = true;
      this.io.urc(this.s.mux ? `+CIPRXGET: 1,${link.id}` : '+CIPRXGET: 1');
    }
  }

  peerClosed(link: Link): void {
    if (link.state !== 'CONNECTED') return;
    if (link.secure && this.io.opts.quirks.has('tls-close-ok')) {
      // Field report: the TLS close arrives as an unsolicited CLOSE OK and unread data is gone.
      link.rx = [];
      link.rxBytes = 0;
      link.state = 'CLOSED';
      this.io.urc(this.linkUrc(link.id, 'CLOSE OK'));
      return;
    }
    if (this.s.rxget !== 0 && link.rxBytes > 0) {
      link.state = 'REMOTE CLOSING';
      return; // reported once the host has read the rest
    }
    this.reportClosed(link);
  }

  private reportClosed(link: Link): void {
    link.state = 'CLOSED';
    this.io.urc(this.s.mux ? this.linkUrc(link.id, 'CLOSED') : 'CLOSED');
  }

  private pushOut(link: Link, chunk: Buffer): void {
    for (let off = 0; off < chunk.length; off += MAX_SEND) {
      const part = chunk.subarray(off, Math.min(off + MAX_SEND, chunk.length));
      if (this.s.mux) {
        this.io.urc(`+RECEIVE,${link.id},${part.length}:`, this.s.rxf === 0 ? [part, CRLF] : [part]);
      } else if (this.s.head) {
        const hdr = `\r\n+IPD,${part.length}${this.s.showtp ? ',TCP' : ''}:`;
        this.io.urc(null, [Buffer.from(hdr, 'latin1'), part, ...(this.s.rxf === 0 ? [CRLF] : [])]);
      } else {
        this.io.urc(null, [part]);
      }
    }
    if (this.io.outputPressure() > this.io.opts.lineHighWater) {
      for (const l of this.links) l.pauseFor('line');
    }
  }

  // ---- helpers ----

  private linkUrc(n: number, what: string): string {
    return this.io.opts.quirks.has('connect-no-space') ? `${n},${what}` : `${n}, ${what}`;
  }

  private resetLink(l: Link): void {
    this.attempts[l.id]!++;
    this.pendingConnect.delete(l);
    this.pendingFail.delete(l);
    l.reset();
  }

  private anyLinkPresent(): boolean {
    return this.links.some((l) => l.state !== 'INITIAL');
  }

  private bearerUp(): boolean {
    return this.bearer === 'IP STATUS' || this.bearer === 'IP PROCESSING';
  }

  /** `AT+CIPSTATUS` state in single-link mode: the link's state once it exists. */
  private singleState(): string {
    const l = this.links[0]!;
    if (this.bearer === 'PDP DEACT') return 'PDP DEACT';
    switch (l.state) {
      case 'CONNECTING': return 'TCP CONNECTING';
      case 'CONNECTED': return 'CONNECT OK';
      case 'REMOTE CLOSING': case 'CLOSING': return 'TCP CLOSING';
      case 'CLOSED': return 'TCP CLOSED';
      default: return this.bearer;
    }
  }

  private flag(c: AtCommand, key: keyof IpSettings, max: number): Reply {
    const name = c.name;
    if (c.type === 'read') return { lines: [`${name}: ${this.s[key]}`], final: 'OK' };
    if (c.type === 'test') return { lines: [`${name}: (0-${max})`], final: 'OK' };
    const v = intArg(c.args[0], 0, max);
    if (c.type !== 'set' || v === undefined || c.args.length !== 1) return { final: this.io.cme(3) };
    this.s[key] = v;
    return OK;
  }

  /** Link id argument in multi-link mode; undefined when invalid. */
  private linkArg(a: AtArg | undefined): number | undefined {
    return intArg(a, 0, LINKS - 1);
  }

  // ---- bearer ----

  private cipmux(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: [`+CIPMUX: ${this.s.mux}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPMUX: (0,1)'], final: 'OK' };
    const v = intArg(c.args[0], 0, 1);
    if (c.type !== 'set' || v === undefined) return { final: 'ERROR' };
    // Only in IP INITIAL and with no link left, even a CLOSED one (field: the mode silently stays).
    if (this.bearer !== 'IP INITIAL' || this.anyLinkPresent()) return { final: this.io.cme(3) };
    this.s.mux = v;
    return OK;
  }

  private cstt(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: [`+CSTT: "${this.apn.apn}","${this.apn.user}","${this.apn.pwd}"`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CSTT: "APN","USER","PWD"'], final: 'OK' };
    if (this.bearer !== 'IP INITIAL' || (!this.s.mux && this.links[0]!.state !== 'INITIAL')) return { final: this.io.cme(3) };
    const [apn, user, pwd] = c.args;
    if ((apn && apn.value.length > 128) || (user && user.value.length > 32) || (pwd && pwd.value.length > 32)) {
      return { final: this.io.cme(3) };
    }
    this.apn = { apn: apn?.value ?? '', user: user?.value ?? '', pwd: pwd?.value ?? '' };
    this.bearer = 'IP START';
    return OK;
  }

  private ciicr(c: AtCommand): Reply | null {
    if (c.type !== 'exec') return { final: 'ERROR' };
    if (this.bearer !== 'IP START') return { final: this.io.cme(3) };
    if (!this.io.registered()) {
      // As in the field transcript (§7.6): the activation fails with +PDP: DEACT, then 65535.
      this.io.urc('+PDP: DEACT');
      this.bearer = 'PDP DEACT';
      return { final: this.io.cme(65535) };
    }
    this.bearer = 'IP GPRSACT';
    return OK;
  }

  private cifsr(c: AtCommand): Reply {
    if (c.type !== 'exec') return { final: 'ERROR' };
    const up = this.bearer === 'IP GPRSACT' || this.bearer === 'IP STATUS' || this.bearer === 'IP PROCESSING';
    if (!up) return { final: 'ERROR' };
    if (this.bearer === 'IP GPRSACT') this.bearer = 'IP STATUS';
    return { final: this.io.opts.localIp }; // bare IP is the final result: no OK
  }

  private cipshut(c: AtCommand): Reply {
    if (c.type !== 'exec') return { final: 'ERROR' };
    for (const l of this.links) this.resetLink(l);
    this.bearer = 'IP INITIAL';
    return { final: 'SHUT OK' };
  }

  private cipstatus(c: AtCommand): Reply | null {
    if (c.type === 'test') return OK;
    if (c.type === 'set') {
      const n = this.linkArg(c.args[0]);
      if (!this.s.mux || n === undefined) return { final: this.io.cme(3) };
      return { lines: [this.statusLine(n, false)], final: 'OK' };
    }
    if (c.type !== 'exec') return { final: 'ERROR' };
    // OK comes first, the state lines after it (manual §12.17, field).
    this.io.final('OK');
    if (!this.s.mux) {
      this.io.line(`STATE: ${this.singleState()}`);
      return null;
    }
    this.io.line(`STATE: ${this.bearer}`);
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

  // ---- connect ----

  private readonly pendingConnect = new Map<Link, () => void>();
  private readonly pendingFail = new Map<Link, (reason: string) => void>();

  private cipstart(c: AtCommand): Reply | null {
    if (c.type === 'test') return { lines: ['+CIPSTART: (0-5),("TCP","UDP"),("(0-255).(0-255).(0-255).(0-255)"),(1-65535)'], final: 'OK' };
    if (c.type !== 'set') return { final: 'ERROR' };
    const multi = this.s.mux === 1;
    const want = multi ? 4 : 3;
    if (c.args.length !== want) {
      // A link id in single mode (or none in multi mode) is a state error on this firmware.
      return { final: c.args.length === 7 - want ? this.io.cme(3) : 'ERROR' };
    }
    const n = multi ? this.linkArg(c.args[0]) : 0;
    const [modeArg, hostArg, portArg] = c.args.slice(multi ? 1 : 0);
    if (n === undefined) return { final: this.io.cme(3) };
    const mode = modeArg!.value.toUpperCase();
    if (mode === 'UDP') return { final: this.io.cme(4) };
    if (mode !== 'TCP') return { final: this.io.cme(3) };
    const port = intArg(portArg, 1, 65535);
    const host = hostArg!.value;
    if (port === undefined || host === '' || host.length > 128) return { final: this.io.cme(3) };
    const link = this.links[n]!;
    if (link.state === 'CONNECTING' || link.state === 'CONNECTED' || link.state === 'REMOTE CLOSING') {
      this.io.final(this.io.cme(65535));
      this.io.urc(multi ? this.linkUrc(n, 'ALREADY CONNECT') : 'ALREADY CONNECT');
      return null;
    }
    const before = multi ? this.bearer : this.singleState();
    if (multi) {
      if (!this.bearerUp()) return { final: this.io.cme(3) };
    } else if (!(this.bearer === 'IP INITIAL' || this.bearer === 'IP STATUS')) {
      return { final: this.io.cme(3) };
    }
    this.io.final('OK');
    if (!multi && this.bearer === 'IP INITIAL') {
      // Single-link shortcut: the module brings the bearer up itself (manual §12.42).
      if (!this.io.registered()) {
        link.prepare(host, port, false);
        this.failLink(link, before);
        return null;
      }
      this.bearer = 'IP STATUS';
    }
    if (multi) this.bearer = 'IP PROCESSING';
    link.prepare(host, port, this.s.ssl === 1);
    void this.connect(link, host, port, before);
    return null;
  }

  private failLink(link: Link, before: string): void {
    link.state = 'CLOSED';
    if (this.s.mux) {
      this.io.urc(this.linkUrc(link.id, 'CONNECT FAIL'));
    } else {
      this.io.urc(`STATE: ${before}`);
      this.io.urc('CONNECT FAIL');
    }
  }

  private async connect(link: Link, host: string, port: number, before: string): Promise<void> {
    const attempt = ++this.attempts[link.id]!;
    const epoch = this.io.epoch;
    const stale = (): boolean => this.attempts[link.id] !== attempt || this.io.epoch !== epoch;
    const started = performance.now();
    const { opts } = this.io;
    link.pauseFor('connect'); // nothing may be reported before CONNECT OK
    const ip = await resolveHost(host, opts.resolve);
    if (stale()) return;
    if (opts.blackhole.has(host) || (ip !== undefined && opts.blackhole.has(ip))) {
      this.io.log('link %d: %s is black-holed, staying silent', link.id, host);
      return;
    }
    if (ip === undefined) {
      this.io.later(opts.dnsFailDelayMs, () => {
        if (!stale()) this.failLink(link, before);
      });
      return;
    }
    let tlsOpts: tls.ConnectionOptions | undefined;
    if (link.secure) {
      const t = this.tlsOptions(this.s.mux ? link.id : 0, host);
      if (typeof t === 'string') {
        this.io.log('link %d: TLS refused: %s', link.id, t);
        this.failLink(link, before);
        return;
      }
      tlsOpts = t;
    }
    this.pendingFail.set(link, () => {
      this.pendingFail.delete(link);
      this.pendingConnect.delete(link);
      if (!stale()) this.failLink(link, before);
    });
    this.pendingConnect.set(link, () => {
      this.pendingFail.delete(link);
      this.pendingConnect.delete(link);
      const wait = Math.max(0, started + opts.connectDelayMs - performance.now());
      this.io.later(wait, () => {
        if (stale() || link.state !== 'CONNECTING') return;
        link.state = 'CONNECTED';
        this.io.urc(this.s.mux ? this.linkUrc(link.id, 'CONNECT OK') : 'CONNECT OK');
        link.resumeFor('connect');
      });
    });
    link.open({ host, ip, port, tls: tlsOpts, timeoutMs: opts.connectTimeoutMs });
  }

  /** TLS options from the link's SSL context, or why the module would fail the handshake. */
  private tlsOptions(ctx: number, host: string): tls.ConnectionOptions | string {
    const version = intArg(this.ssl.get(ctx, 'sslversion'), 0, 4);
    if (version === undefined) return 'sslversion not set (field: handshakes fail without it)';
    const versions: Record<number, [tls.SecureVersion, tls.SecureVersion] | undefined> = {
      1: ['TLSv1', 'TLSv1'],
      2: ['TLSv1.1', 'TLSv1.1'],
      3: ['TLSv1.2', 'TLSv1.2'],
      4: ['TLSv1', 'TLSv1.2'],
    };
    const range = versions[version];
    if (!range) return 'SSL 3.0 is not available';
    const seclevel = intArg(this.ssl.get(ctx, 'seclevel'), 0, 2) ?? 0;
    const hostname = this.ssl.get(ctx, 'hostname')?.value;
    const servername = hostname || (net.isIP(host) ? undefined : host);
    const o: tls.ConnectionOptions = { minVersion: range[0], maxVersion: range[1], rejectUnauthorized: seclevel >= 1 };
    // The module really offers TLS 1.0/1.1 when told to; OpenSSL 3 only does at security level 0.
    if (range[0] !== 'TLSv1.2') o.ciphers = 'DEFAULT:@SECLEVEL=0';
    if (servername) o.servername = servername;
    const file = (key: string): Buffer | undefined => {
      const name = this.ssl.get(ctx, key)?.value;
      return name ? this.files.get(name) : undefined;
    };
    if (seclevel >= 1) {
      const ca = file('cacert');
      if (!ca) return 'seclevel >= 1 but no cacert file';
      o.ca = ca.toString('latin1');
    }
    const cert = file('clientcert');
    const key = file('clientkey');
    if (seclevel === 2 && (!cert || !key)) return 'seclevel 2 needs clientcert and clientkey files';
    if (cert && key) {
      o.cert = cert.toString('latin1');
      o.key = key.toString('latin1');
    }
    return o;
  }

  // ---- send ----

  private async cipsend(c: AtCommand): Promise<Reply | null> {
    if (c.type === 'read') return { lines: [this.s.mux ? '+CIPSEND: 0,1460' : '+CIPSEND: 1460'], final: 'OK' };
    if (c.type === 'test') return { lines: [this.s.mux ? '+CIPSEND: <0-7>,<length>' : '+CIPSEND: <length>'], final: 'OK' };
    const multi = this.s.mux === 1;
    let n = 0;
    let lenArg: AtArg | undefined;
    if (multi) {
      if (c.type !== 'set') return { final: this.io.cme(3) };
      const id = this.linkArg(c.args[0]);
      if (id === undefined || c.args.length > 2) return { final: this.io.cme(3) };
      n = id;
      lenArg = c.args[1];
    } else {
      if (c.type === 'set' && c.args.length !== 1) return { final: this.io.cme(3) };
      lenArg = c.args[0];
    }
    const link = this.links[n]!;
    if (link.state !== 'CONNECTED' || this.bearer === 'PDP DEACT') return { final: this.io.cme(3) };
    let len: number | undefined;
    if (lenArg !== undefined) {
      len = intArg(lenArg, 1, MAX_SEND);
      if (len === undefined) return { final: this.io.cme(3) };
    }
    const promptDelay = this.io.faults.takePromptDelay();
    if (promptDelay > 0) {
      const epoch = this.io.epoch;
      await new Promise<void>((r) => this.io.later(promptDelay, r));
      if (this.io.epoch !== epoch) return null;
    }
    const got = await this.io.prompt(len, this.s.sprt === 1);
    if (got === undefined || got === 'timeout') return null; // rebooted meanwhile
    if (got === 'aborted') return OK;
    // Fault: the module took the whole payload off the line but accepts only part of it.
    const partial = this.io.faults.takePartialAccept();
    const data = partial === undefined ? got : got.subarray(0, Math.min(partial, got.length));
    const size = data.length;
    if (link.state !== 'CONNECTED') {
      return { final: multi ? this.linkUrc(n, 'SEND FAIL') : 'SEND FAIL' };
    }
    const epoch = this.io.epoch;
    const flushed = new Promise<void>((resolve) => link.write(data, resolve));
    if (this.s.qsend === 2) await flushed; // slow mode waits for the data to leave
    if (this.io.epoch !== epoch) return null;
    if (this.s.sprt === 2) return null;
    if (this.s.qsend === 1) return { final: multi ? `DATA ACCEPT:${n},${size}` : `DATA ACCEPT:${size}` };
    return { final: multi ? this.linkUrc(n, 'SEND OK') : 'SEND OK' };
  }

  private cipclose(c: AtCommand): Reply {
    const multi = this.s.mux === 1;
    if (c.type === 'test') return OK;
    if (multi) {
      if (c.type !== 'set') return { final: 'ERROR' };
      const n = this.linkArg(c.args[0]);
      if (n === undefined) return { final: this.io.cme(3) };
      const l = this.links[n]!;
      if (l.state !== 'CONNECTING' && l.state !== 'CONNECTED' && l.state !== 'REMOTE CLOSING') return { final: this.io.cme(3) };
      this.closeLink(l);
      return { final: this.linkUrc(n, 'CLOSE OK') };
    }
    if (c.type === 'set' && intArg(c.args[0], 0, 1) === undefined) return { final: 'ERROR' };
    const l = this.links[0]!;
    if (l.state !== 'CONNECTING' && l.state !== 'CONNECTED') return { final: 'ERROR' };
    this.closeLink(l);
    return { final: 'CLOSE OK' };
  }

  private closeLink(l: Link): void {
    this.attempts[l.id]!++;
    this.pendingConnect.delete(l);
    this.pendingFail.delete(l);
    l.close();
  }

  private cipack(c: AtCommand): Reply {
    if (c.type === 'test') return OK;
    let n = 0;
    if (c.type === 'set') {
      const id = this.linkArg(c.args[0]);
      if (id === undefined || !this.s.mux) return { final: this.io.cme(3) };
      n = id;
    } else if (c.type !== 'exec') {
      return { final: 'ERROR' };
    }
    const l = this.links[n]!;
    return { lines: [`+CIPACK: ${l.sent},${l.acked},${l.sent - l.acked}`], final: 'OK' };
  }

  // ---- pull receive ----

  private ciprxget(c: AtCommand): Reply | null {
    if (c.type === 'read') return { lines: [`+CIPRXGET: ${this.s.rxget}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPRXGET: (0-5),(0-5),(1-1460)'], final: 'OK' };
    if (c.type !== 'set') return { final: 'ERROR' };
    const mode = intArg(c.args[0], 0, 5);
    if (mode === undefined) return { final: this.io.cme(3) };
    if (mode === 0 || mode === 1 || mode === 5) {
      if (c.args.length !== 1) return { final: this.io.cme(3) };
      const wasPull = this.s.rxget !== 0;
      this.s.rxget = mode;
      if (mode === 0 && wasPull) this.flushToPush();
      return OK;
    }
    if (this.s.rxget === 0) return { final: this.io.cme(3) };
    const multi = this.s.mux === 1;
    const rest = c.args.slice(1);
    let n = 0;
    if (multi) {
      const id = this.linkArg(rest.shift());
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

  // ---- DNS ----

  private cdnsgip(c: AtCommand): Reply | null {
    if (c.type === 'test') return OK;
    const host = c.args[0]?.value;
    if (c.type !== 'set' || !host || host.length > 128) return { final: this.io.cme(3) };
    const up = this.s.mux ? this.bearerUp() : this.bearerUp() || this.links[0]!.state !== 'INITIAL';
    if (!up) return { final: this.io.cme(3) };
    this.io.final('OK');
    const epoch = this.io.epoch;
    void resolveHost(host, this.io.opts.resolve).then((ip) => {
      if (this.io.epoch !== epoch) return;
      this.io.urc(ip ? `+CDNSGIP: 1,"${host}","${ip}"` : '+CDNSGIP:0,10');
    });
    return null;
  }

  // ---- TLS ----

  private cipssl(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: [`+CIPSSL: ${this.s.ssl}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPSSL: (0-1)'], final: 'OK' };
    const v = intArg(c.args[0], 0, 1);
    // Field: the per-link form AT+CIPSSL=0,1 is refused; the switch is module-wide.
    if (c.type !== 'set' || v === undefined || c.args.length !== 1) return { final: this.io.cme(3) };
    this.s.ssl = v;
    return OK;
  }

  private sslcfg(c: AtCommand): Reply {
    if (c.type === 'read' || c.type === 'test') return OK;
    if (c.type !== 'set' || c.args.length < 2 || c.args.length > 3) return { final: this.io.cme(3) };
    const key = c.args[0]!.value.toLowerCase();
    const ctx = intArg(c.args[1], 0, 255);
    if (!SSL_KEYS.has(key) || ctx === undefined || !validSslContext(ctx)) return { final: this.io.cme(3) };
    const value = c.args[2];
    if (value === undefined) return { lines: [`+SSLCFG: "${key}",${ctx},${this.ssl.show(ctx, key)}`], final: 'OK' };
    if (value.value === '' && !value.quoted) {
      this.ssl.erase(ctx, key);
      return OK;
    }
    this.ssl.set(ctx, key, value);
    return OK;
  }

  // ---- files ----

  private fileName(c: AtCommand): string | undefined {
    const a = c.args[0];
    if (c.type !== 'set' || !a || a.value === '' || a.value.length > 64 || /[\\/]/.test(a.value)) return undefined;
    return a.value;
  }

  private fscreate(c: AtCommand): Reply {
    const name = this.fileName(c);
    if (!name) return { final: this.io.cme(3) };
    this.files.create(name);
    return OK;
  }

  private async fswrite(c: AtCommand): Promise<Reply | null> {
    const name = this.fileName(c);
    const mode = intArg(c.args[1], 0, 1);
    const size = intArg(c.args[2], 1, MAX_FSWRITE);
    const timeout = intArg(c.args[3], 1, 3600) ?? 10;
    if (!name || mode === undefined || size === undefined || !this.files.has(name)) return { final: this.io.cme(3) };
    const data = await this.io.prompt(size, true, timeout * 1000);
    if (data === undefined) return null;
    if (data === 'timeout') return { final: 'TimeOut' };
    if (data === 'aborted') return OK;
    return this.files.write(name, mode, data) ? OK : { final: this.io.cme(51) };
  }

  private fsdel(c: AtCommand): Reply {
    const name = this.fileName(c);
    if (!name || !this.files.delete(name)) return { final: this.io.cme(3) };
    return OK;
  }

  private fsread(c: AtCommand): Reply | null {
    const name = this.fileName(c);
    const file = name ? this.files.get(name) : undefined;
    if (!file) return { final: this.io.cme(3) };
    const mode = intArg(c.args[1], 0, 1) ?? 0;
    const size = intArg(c.args[2], 1, MAX_FSWRITE) ?? file.length;
    const pos = mode === 1 ? intArg(c.args[3], 0, file.length) ?? 0 : 0;
    const data = file.subarray(pos, pos + size);
    this.io.raw(Buffer.concat([CRLF, data, CRLF]));
    this.io.final('OK');
    return null;
  }
}
