import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import createDebug from 'debug';
import { AtChannel, type AtResponse, type AtSendOptions } from '../at/index.js';
import { AtCommandError, AtTimeoutError, BadArgumentError } from '../at/errors.js';
import { atHost, atInt } from '../at/args.js';
import type { ProgressEvent } from './bringup.js';
import {
  ConnectFailedError,
  ConnectTimeoutError,
  LinkClosedError,
  ModemNotReadyError,
  NoFreeLinkError,
  TlsMixedError,
} from './errors.js';
import { ModemSocket, type LinkDriver } from './socket.js';
import { PDP_DEACT_RE } from './parse.js';
import { LinkTable } from './links.js';
import { DataPump } from './pump.js';
import { LinkUrcs } from './urc.js';
import { Supervisor, type ModemState, type RecoveryReason } from './supervisor.js';
import { readInfo, type ModemInfo } from './info.js';
import { ModuleTls } from './module-tls.js';
import { openTransport, type Transport, type TransportOptions } from './transport.js';
import type { DeliveryTracker } from './delivery.js';

const debug = createDebug('air780:modem');

export type { ModemState, RecoveryReason };

/** Options of {@link Modem.open}. */
export interface ModemOpenOptions extends TransportOptions {
  /** APN for `AT+CSTT` (default: the one the network assigned). */
  apn?: string;
  user?: string;
  password?: string;
  /** Receive mode: 'push' (`+RECEIVE` URCs) or 'pull' (`AT+CIPRXGET`, end-to-end backpressure). Default 'push'. */
  rxMode?: 'push' | 'pull';
  /** Timeout of data commands (CIPSEND, CIPRXGET, CIPCLOSE, CIPACK); a timeout means the module stopped answering. Default 9000. */
  commandTimeoutMs?: number;
  /** Default wait for `CONNECT OK`. Default 75 000 (the manual's value). */
  connectTimeoutMs?: number;
  /** `AT` attempts during sync. Default 20. */
  syncAttempts?: number;
  /** Wait for each sync `AT`. Default 1000. */
  syncIntervalMs?: number;
  simTimeoutMs?: number;
  registrationTimeoutMs?: number;
  attachTimeoutMs?: number;
  /** Interval between status polls during bring-up. Default 500. */
  pollIntervalMs?: number;
  /** Back-off between recovery attempts: starts here, doubles, capped at `recoveryMaxBackoffMs`. Default 500. */
  recoveryBackoffMs?: number;
  recoveryMaxBackoffMs?: number;
  /** How long the AT channel waits for its resync after a timed-out command. Default 5000. */
  resyncTimeoutMs?: number;
  /** Failed sync rounds before a hard reset (`AT+CFUN=1,1`, then `AT+RESET`). Default 2. */
  resetAfterSyncFailures?: number;
  /** Push mode: unread bytes per socket before it fails with ERR_RX_OVERFLOW. Default 8 MiB. */
  pushBufferLimit?: number;
  /** Progress callback (also emitted as 'progress'). */
  onProgress?: (p: ProgressEvent) => void;
}

/** Options of {@link Modem.connect} / {@link Modem.openStream}. */
export interface ModemConnectOptions {
  /** false: plain TCP; 'host' (or true): Node's TLS over a plain link; 'modem': the module's TLS (AT+CIPSSL). */
  tls?: boolean | 'host' | 'modem';
  /** SNI and certificate name (default: the host, unless it is an IP literal). */
  servername?: string;
  /** CA(s) to verify the server against. Host TLS: default the system store. Module TLS: required unless rejectUnauthorized is false. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verification is on unless this is explicitly false (traced as a warning). */
  rejectUnauthorized?: boolean;
  /** Wait for CONNECT OK (and, for host TLS, the handshake). */
  timeoutMs?: number;
}

/**
 * An Air780E-series module: bring-up, supervision and sockets.
 *
 * Events: 'state' (state, previous), 'progress' (ProgressEvent), 'recovering' (reason),
 * 'online', 'close'.
 */
export class Modem extends EventEmitter {
  /** The most recently opened modem (for `websocket.create(null, ...)`). */
  static default: Modem | undefined;

  /**
   * Open a module and bring it online. Port: `stream`, `binding` + `path`, `path`, else the
   * `AIR780_PORT` environment variable, else the first USB `19d1:0001` port that answers AT.
   */
  static async open(options: ModemOpenOptions = {}): Promise<Modem> {
    const transport = await openTransport(options);
    const modem = new Modem(transport, options);
    try {
      await modem.supervisor.start();
    } catch (err) {
      await modem.close();
      throw err;
    }
    Modem.default = modem;
    return modem;
  }

  private _at: AtChannel;
  private _state: ModemState = 'opening';
  private readonly transport: Transport;
  private readonly opts: Required<Omit<ModemOpenOptions, keyof TransportOptions | 'apn' | 'user' | 'password' | 'onProgress'>> & ModemOpenOptions;
  private readonly links = new LinkTable();
  private readonly dataPump: DataPump;
  private readonly urcs: LinkUrcs;
  private readonly supervisor: Supervisor;
  private unsubscribe: Array<() => void> = [];
  private connectLock: Promise<unknown> = Promise.resolve();
  private lifetime = new AbortController();
  private readonly moduleTls: ModuleTls;
  private ip: string | undefined;
  private readonly driver: LinkDriver;

  private constructor(transport: Transport, options: ModemOpenOptions) {
    super();
    const self = this;
    this.transport = transport;
    this.opts = {
      ...options,
      rxMode: options.rxMode ?? 'push',
      commandTimeoutMs: options.commandTimeoutMs ?? 9000,
      connectTimeoutMs: options.connectTimeoutMs ?? 75_000,
      syncAttempts: options.syncAttempts ?? 20,
      syncIntervalMs: options.syncIntervalMs ?? 1000,
      simTimeoutMs: options.simTimeoutMs ?? 10_000,
      registrationTimeoutMs: options.registrationTimeoutMs ?? 120_000,
      attachTimeoutMs: options.attachTimeoutMs ?? 60_000,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      recoveryBackoffMs: options.recoveryBackoffMs ?? 500,
      recoveryMaxBackoffMs: options.recoveryMaxBackoffMs ?? 30_000,
      resetAfterSyncFailures: options.resetAfterSyncFailures ?? 2,
      resyncTimeoutMs: options.resyncTimeoutMs ?? 5000,
      pushBufferLimit: options.pushBufferLimit ?? 8 * 1024 * 1024,
    };
    this.supervisor = new Supervisor(
      {
        get state() {
          return self._state;
        },
        setState: (s) => this.setState(s),
        emit: (event: string, arg: unknown) => this.emit(event, arg),
        channel: () => this._at,
        reopenStream: () => this.transport.reopen(),
        attach: (stream) => {
          this._at = this.attach(stream);
        },
        failAll: (err) => this.failAll(err),
        online: (ip) => this.online(ip),
        close: () => this.close(),
      },
      this.opts,
      this.lifetime.signal,
    );
    this.urcs = new LinkUrcs(this.links, () => this.dataPump.pump());
    this._at = this.attach(transport.stream);
    this.moduleTls = new ModuleTls((c, o) => this.cmd(c, o));
    this.dataPump = new DataPump(
      {
        get rxMode() {
          return self.opts.rxMode;
        },
        get commandTimeoutMs() {
          return self.opts.commandTimeoutMs;
        },
        isOnline: () => this._state === 'online',
        channel: () => this._at,
        cmd: (c, o) => this.cmd(c, o),
        sendTimedOut: (len) => {
          this.supervisor.sendStranded(len);
          this.supervisor.recover('unresponsive');
        },
      },
      this.links,
    );
    this.driver = {
      get rxMode() {
        return self.opts.rxMode;
      },
      open: (s) => this.openLink(s),
      kick: () => this.dataPump.kickSoon(),
      release: (s, closeOnModule) => this.release(s, closeOnModule),
      pollAcked: (s) => this.dataPump.pollAcked(s),
    };
  }

  /** The AT channel (for status commands; sockets share it fairly). Replaced after a port reopen. */
  get at(): AtChannel {
    return this._at;
  }

  /** Current supervision state. */
  get state(): ModemState {
    return this._state;
  }

  /** Receive mode chosen at open. */
  get rxMode(): 'push' | 'pull' {
    return this.opts.rxMode;
  }

  /** IP address the bearer got (AT+CIFSR), once online. */
  get ipAddress(): string | undefined {
    return this.ip;
  }

  /** Identity, signal, registration, operator and IP address. */
  async info(): Promise<ModemInfo> {
    if (this._state === 'closed') throw new ModemNotReadyError('closed');
    return readInfo((c, o) => this.cmd(c, o), this.ip);
  }

  /**
   * Open a socket through the module (plain TCP, or module TLS with `{ tls: 'modem' }`).
   * The host is checked before anything is written: a bad one throws `ERR_BAD_ARGUMENT`; a closed
   * modem throws `ERR_MODEM_NOT_READY`. While the modem recovers, the connect waits for it (up to
   * its timeout).
   * For host TLS use {@link openStream}.
   */
  connect(host: string, port: number, options: ModemConnectOptions = {}): ModemSocket {
    if (this._state === 'closed') throw new ModemNotReadyError('closed');
    atHost(host);
    atInt(port, { name: 'port', min: 1, max: 65535 });
    const mode = normaliseTls(options.tls);
    if (mode === 'host') {
      throw new BadArgumentError('tls', "connect() gives the raw link; use openStream(host, port, { tls: 'host' }) for host TLS");
    }
    const socket = new ModemSocket(this.driver, {
      host,
      port,
      moduleTls: mode === 'modem',
      timeoutMs: options.timeoutMs ?? this.opts.connectTimeoutMs,
      pushBufferLimit: this.opts.pushBufferLimit,
    });
    if (mode === 'modem') this.moduleTlsOptions.set(socket, options);
    socket.connect();
    return socket;
  }

  private readonly moduleTlsOptions = new WeakMap<ModemSocket, ModemConnectOptions>();

  /**
   * A connected stream to host:port: a `ModemSocket`, or Node's TLS over one (`tls: 'host'`/true),
   * or module TLS (`tls: 'modem'`). It carries the link's `delivery` tracker.
   */
  async openStream(host: string, port: number, options: ModemConnectOptions = {}): Promise<Duplex & { delivery: DeliveryTracker }> {
    const mode = normaliseTls(options.tls);
    const socket = this.connect(host, port, { ...options, tls: mode === 'modem' ? 'modem' : false });
    await onceConnected(socket);
    if (mode !== 'host') return socket;
    const servername = options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
    if (options.rejectUnauthorized === false) {
      debug('WARNING: TLS certificate verification is OFF for %s:%d (rejectUnauthorized: false)', host, port);
    }
    const tlsOpts: tls.ConnectionOptions = {
      socket,
      rejectUnauthorized: options.rejectUnauthorized !== false,
      ...(servername ? { servername } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
    };
    const secure = tls.connect(tlsOpts);
    const timeoutMs = options.timeoutMs ?? this.opts.connectTimeoutMs;
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new ConnectTimeoutError(host, port, timeoutMs)), timeoutMs);
        secure.once('secureConnect', () => {
          clearTimeout(t);
          resolve();
        });
        secure.once('error', (e) => {
          clearTimeout(t);
          reject(e);
        });
        secure.once('close', () => {
          clearTimeout(t);
          reject(new LinkClosedError(socket.link, 'closed during the TLS handshake'));
        });
      });
    } catch (err) {
      secure.destroy();
      socket.destroy();
      throw err;
    }
    return Object.assign(secure, { delivery: socket.delivery });
  }

  /** Close every socket, the AT channel and the port. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.setState('closed');
    this.lifetime.abort(new ModemNotReadyError('closed'));
    // A deliberate close: sockets just close (no 'error' nobody may be listening for).
    this.failAll(null);
    for (const u of this.unsubscribe) u();
    this._at.close();
    await this.transport.close();
    if (Modem.default === this) Modem.default = undefined;
    this.emit('close');
  }

  // ---- state (bring-up and recovery: supervisor.ts) --------------------------------------------

  private online(ip: string): void {
    this.ip = ip;
    this.moduleTls.reset();
    this.setState('online');
    this.emit('online');
    this.dataPump.pump();
  }

  private setState(s: ModemState): void {
    const prev = this._state;
    if (prev === s) return;
    this._state = s;
    debug('state %s → %s', prev, s);
    this.emit('state', s, prev);
  }

  private attach(stream: Duplex): AtChannel {
    const at = new AtChannel(stream, { name: 'air780', syncTimeoutMs: this.opts.resyncTimeoutMs });
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [
      ...this.urcs.subscribe(at),
      at.onUrc(/^RDY$/, () => this.supervisor.onReboot()),
      at.onUrc(PDP_DEACT_RE, () => this.supervisor.recover('pdp')),
    ];
    const onGone = () => {
      if (this._at !== at || this._state === 'closed') return;
      this.supervisor.recover('port');
    };
    at.on('close', onGone);
    at.on('error', (err: Error) => debug('AT channel error: %s', err.message));
    stream.on('close', onGone);
    stream.on('error', (err: Error) => debug('port error: %s', err.message));
    return at;
  }

  /** A command from the online modem; a timeout means the module stopped answering. */
  private async cmd(command: string, options?: AtSendOptions): Promise<AtResponse> {
    const at = this._at;
    try {
      return await at.send(command, options);
    } catch (err) {
      if (err instanceof AtTimeoutError && at === this._at) this.supervisor.recover('unresponsive');
      throw err;
    }
  }

  // ---- links ---------------------------------------------------------------------------------

  private failAll(err: Error | null): void {
    this.links.failAll(err);
    this.dataPump.reset();
  }

  /** While recovering, wait (bounded) for the module to be back instead of failing at once. */
  private async whenOnline(timeoutMs: number): Promise<void> {
    if (this._state === 'online') return;
    if (this._state === 'closed') throw new ModemNotReadyError('closed');
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(t);
        this.off('online', onOnline);
        this.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onOnline = () => done();
      const onClose = () => done(new ModemNotReadyError('closed'));
      const t = setTimeout(() => done(new ModemNotReadyError(this._state)), timeoutMs);
      this.on('online', onOnline);
      this.on('close', onClose);
    });
  }

  private async openLink(socket: ModemSocket): Promise<void> {
    const { host, port, moduleTls, timeoutMs } = socket.options;
    await this.whenOnline(timeoutMs);
    if (socket.destroyed) throw new LinkClosedError(-1, 'destroyed before connecting');
    // Allocation and the module-wide TLS switch are decided one connect at a time.
    const prepared = this.connectLock.then(async () => {
      if (socket.destroyed) throw new LinkClosedError(-1, 'destroyed before connecting');
      if (this._state !== 'online') throw new ModemNotReadyError(this._state);
      for (const s of this.links.sockets) {
        if (s && s.options.moduleTls !== moduleTls) throw new TlsMixedError(moduleTls ? 'tls' : 'plain');
      }
      let n = this.links.free();
      // A link whose CIPCLOSE is still under way is about to be free: wait for it (bounded).
      const deadline = Date.now() + this.opts.commandTimeoutMs;
      while (n < 0 && this.links.closing.size > 0 && Date.now() < deadline && this._state === 'online') {
        await this.links.closingSettled();
        n = this.links.free();
      }
      if (n < 0) throw new NoFreeLinkError();
      this.links.sockets[n] = socket;
      socket.link = n;
      try {
        if (moduleTls) await this.moduleTls.configureLink(n, host, this.moduleTlsOptions.get(socket) ?? {});
        else await this.moduleTls.ensurePlain();
      } catch (err) {
        if (this.links.sockets[n] === socket) this.links.sockets[n] = undefined;
        throw err;
      }
      return n;
    });
    this.connectLock = prepared.catch(() => undefined);
    const n = await prepared;
    for (let attempt = 0; ; attempt++) {
      const result = await this.startLink(n, host, port, timeoutMs, socket);
      if (result === 'CONNECT OK') return;
      if (result === 'ALREADY CONNECT' && attempt === 0) {
        // The module still holds this id (a close we never saw): close it and try once more.
        await this.cmd(`AT+CIPCLOSE=${n}`, { timeoutMs: this.opts.commandTimeoutMs }).catch(() => undefined);
        continue;
      }
      if (this.links.sockets[n] === socket) this.links.sockets[n] = undefined;
      if (moduleTls) this.moduleTls.forgetCa(n);
      throw new ConnectFailedError(host, port, result === 'ALREADY CONNECT' ? 'the module reports the link as already connected' : 'CONNECT FAIL');
    }
  }

  private async startLink(n: number, host: string, port: number, timeoutMs: number, socket: ModemSocket): Promise<string> {
    const result = new Promise<string>((resolve, reject) => this.links.connectWaiters.set(n, { resolve, reject }));
    result.catch(() => undefined);
    try {
      await this.cmd(`AT+CIPSTART=${n},"TCP",${atHost(host)},${port}`, { timeoutMs: this.opts.commandTimeoutMs });
    } catch (err) {
      if (err instanceof AtCommandError && err.cme === 65535) {
        // Field behaviour: `+CME ERROR: 65535` then `<n>, ALREADY CONNECT`.
        const r = await withTimeout(result, 2000).catch(() => 'ALREADY CONNECT');
        this.links.connectWaiters.delete(n);
        return r;
      }
      this.links.connectWaiters.delete(n);
      if (this.links.sockets[n] === socket) this.links.sockets[n] = undefined;
      throw err instanceof AtCommandError ? new ConnectFailedError(host, port, err.message) : err;
    }
    try {
      return await withTimeout(result, timeoutMs);
    } catch (err) {
      this.links.connectWaiters.delete(n);
      if (err === TIMEOUT) {
        // Black-holed address: the module never answers. Free the id on the module.
        if (this.links.sockets[n] === socket) {
          this.links.closing.add(n);
          this.links.sockets[n] = undefined;
          void this.cmd(`AT+CIPCLOSE=${n}`, { timeoutMs: this.opts.commandTimeoutMs })
            .catch(() => undefined)
            .finally(() => this.links.closed(n));
        }
        throw new ConnectTimeoutError(host, port, timeoutMs);
      }
      throw err;
    }
  }

  private release(socket: ModemSocket, closeOnModule: boolean): void {
    const n = socket.link;
    if (n < 0 || this.links.sockets[n] !== socket) return;
    const w = this.links.connectWaiters.get(n);
    if (w) {
      this.links.connectWaiters.delete(n);
      w.reject(new LinkClosedError(n, 'destroyed while connecting'));
    }
    if (!closeOnModule || this._state !== 'online') {
      this.links.sockets[n] = undefined;
      this.dataPump.pump();
      return;
    }
    // Keep the id reserved until the module confirms, so it is not reused too early.
    this.links.sockets[n] = undefined;
    this.links.closing.add(n);
    this.cmd(`AT+CIPCLOSE=${n}`, { timeoutMs: this.opts.commandTimeoutMs })
      .catch((err: Error) => debug('CIPCLOSE %d: %s', n, err.message))
      .finally(() => {
        this.links.closed(n);
        this.dataPump.pump();
      });
  }
}

const TIMEOUT = Symbol('timeout');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(TIMEOUT), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function normaliseTls(tlsOpt: ModemConnectOptions['tls']): false | 'host' | 'modem' {
  if (tlsOpt === undefined || tlsOpt === false) return false;
  if (tlsOpt === true || tlsOpt === 'host') return 'host';
  if (tlsOpt === 'modem') return 'modem';
  throw new BadArgumentError('tls', `tls must be false, true, 'host' or 'modem', got ${String(tlsOpt)}`);
}

function onceConnected(socket: ModemSocket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => {
      socket.off('connect', onOk);
      reject(e);
    };
    const onOk = () => {
      socket.off('error', onErr);
      resolve();
    };
    socket.once('connect', onOk);
    socket.once('error', onErr);
  });
}
