import type tls from 'node:tls';
import { intArg, type AtArg, type AtCommand } from './command.js';
import { BearerCommands, type BearerState } from './bearer.js';
import { ModuleFiles, SslConfig } from './files.js';
import { FileCommands } from './fs-commands.js';
import type { Handler, ModuleIo, Reply } from './io.js';
import { IP_DEFAULTS, LINKS, MAX_SEND, linkArg, type IpSettings } from './ip-settings.js';
import { Link, type LinkListener } from './link.js';
import { ReceivePath } from './receive.js';
import { resolveHost } from './resolve.js';
import { SslCommands } from './ssl-commands.js';

export type { BearerState } from './bearer.js';

const OK: Reply = { final: 'OK' };

/**
 * The TCP/IP command set (manual §12): the link table — links backed by real host sockets,
 * connect, send with prompt, push and pull receive, DNS — and the switches they obey. The bearer
 * (bearer.ts), module-side TLS (ssl-commands.ts) and the file system for certificates
 * (fs-commands.ts) are command sets of their own, registered here.
 */
export class TcpIp implements LinkListener {
  readonly handlers = new Map<string, Handler>();
  readonly files = new ModuleFiles();
  readonly ssl = new SslConfig();
  s: IpSettings = { ...IP_DEFAULTS };
  private readonly links: Link[];
  private readonly bearerCommands: BearerCommands;
  private readonly sslCommands: SslCommands;
  private readonly receive: ReceivePath;
  /** Bumped whenever a link is closed/reset, so a late resolve or connect is recognised as stale. */
  private readonly attempts: number[] = new Array<number>(LINKS).fill(0);

  constructor(private readonly io: ModuleIo) {
    this.links = Array.from({ length: LINKS }, (_, i) => new Link(i, this));
    this.bearerCommands = new BearerCommands(
      io,
      this.links,
      () => this.s,
      () => {
        for (const l of this.links) this.resetLink(l);
      },
    );
    this.sslCommands = new SslCommands(io, this.files, this.ssl, () => this.s);
    this.receive = new ReceivePath(
      io,
      this.links,
      () => this.s,
      (l) => this.reportClosed(l),
    );
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    for (const set of [this.bearerCommands, this.receive, this.sslCommands, new FileCommands(io, this.files)]) {
      for (const [name, fn] of set.handlers) h(name, fn);
    }
    h('+CIPSTART', (c) => this.cipstart(c));
    h('+CIPSEND', (c) => this.cipsend(c));
    h('+CIPCLOSE', (c) => this.cipclose(c));
    h('+CIPACK', (c) => this.cipack(c));
    h('+CDNSGIP', (c) => this.cdnsgip(c));
    h('+CIPQSEND', (c) => this.flag(c, 'qsend', 2));
    h('+CIPRXF', (c) => this.flag(c, 'rxf', 1));
    h('+CIPHEAD', (c) => this.flag(c, 'head', 1));
    h('+CIPSPRT', (c) => this.flag(c, 'sprt', 2));
    h('+CIPSHOWTP', (c) => this.flag(c, 'showtp', 1));
    h('+CIPSRIP', (c) => this.flag(c, 'srip', 1));
    h('+CIPTKA', (c) => (c.type === 'read' ? { lines: ['+CIPTKA:0,7200,75,9'], final: 'OK' } : OK));
  }

  /** The bearer's state (manual §12.40). */
  get bearer(): BearerState {
    return this.bearerCommands.state;
  }

  private set bearer(state: BearerState) {
    this.bearerCommands.state = state;
  }

  // ---- state shared with the core ----

  /** Reboot / power loss: every link dropped without URCs, settings back to defaults. */
  reset(): void {
    for (const l of this.links) this.resetLink(l);
    this.bearer = 'IP INITIAL';
    this.s = { ...IP_DEFAULTS };
    this.ssl.clear();
  }

  /**
   * Fault: bearer lost (`+PDP: DEACT`); links become unusable until `AT+CIPSHUT`. With
   * `reportLinksFirst`, connected links are reported `<n>, CLOSED` just before (some firmware does).
   */
  deactivatePdp(reportLinksFirst = false): void {
    for (const l of this.links) {
      if (l.state === 'INITIAL') continue;
      if (reportLinksFirst && l.state === 'CONNECTED')
        this.io.urc(this.s.mux ? this.linkUrc(l.id, 'CLOSED') : 'CLOSED');
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
    if (!l?.active || l.state !== 'CONNECTED') return false;
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
    this.receive.data(link, chunk);
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

  private bearerUp(): boolean {
    return this.bearerCommands.up();
  }

  private singleState(): string {
    return this.bearerCommands.singleState();
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

  // ---- connect ----

  private readonly pendingConnect = new Map<Link, () => void>();
  private readonly pendingFail = new Map<Link, (reason: string) => void>();

  private cipstart(c: AtCommand): Reply | null {
    if (c.type === 'test')
      return { lines: ['+CIPSTART: (0-5),("TCP","UDP"),("(0-255).(0-255).(0-255).(0-255)"),(1-65535)'], final: 'OK' };
    if (c.type !== 'set') return { final: 'ERROR' };
    const multi = this.s.mux === 1;
    const want = multi ? 4 : 3;
    if (c.args.length !== want) {
      // A link id in single mode (or none in multi mode) is a state error on this firmware.
      return { final: c.args.length === 7 - want ? this.io.cme(3) : 'ERROR' };
    }
    const n = multi ? linkArg(c.args[0]) : 0;
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
      const t = this.sslCommands.tlsOptions(this.s.mux ? link.id : 0, host);
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

  // ---- send ----

  private async cipsend(c: AtCommand): Promise<Reply | null> {
    if (c.type === 'read') return { lines: [this.s.mux ? '+CIPSEND: 0,1460' : '+CIPSEND: 1460'], final: 'OK' };
    if (c.type === 'test')
      return { lines: [this.s.mux ? '+CIPSEND: <0-7>,<length>' : '+CIPSEND: <length>'], final: 'OK' };
    const multi = this.s.mux === 1;
    let n = 0;
    let lenArg: AtArg | undefined;
    if (multi) {
      if (c.type !== 'set') return { final: this.io.cme(3) };
      const id = linkArg(c.args[0]);
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
      const n = linkArg(c.args[0]);
      if (n === undefined) return { final: this.io.cme(3) };
      const l = this.links[n]!;
      if (l.state !== 'CONNECTING' && l.state !== 'CONNECTED' && l.state !== 'REMOTE CLOSING')
        return { final: this.io.cme(3) };
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
      const id = linkArg(c.args[0]);
      if (id === undefined || !this.s.mux) return { final: this.io.cme(3) };
      n = id;
    } else if (c.type !== 'exec') {
      return { final: 'ERROR' };
    }
    const l = this.links[n]!;
    return { lines: [`+CIPACK: ${l.sent},${l.acked},${l.sent - l.acked}`], final: 'OK' };
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
}
