import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { AtChannel, URC, type AtResponse, type AtSendOptions } from '../at/index.js';
import { AtTimeoutError, BadArgumentError } from '../at/errors.js';
import { atHost, atInt } from '../at/args.js';
import { ModemNotReadyError } from './errors.js';
import { ModemSocket, type LinkDriver } from './socket.js';
import { LinkTable } from './links.js';
import { DataPump } from './pump.js';
import { LinkUrcs } from './urc.js';
import { BlockCuts } from './cuts.js';
import { LinkConnector } from './connector.js';
import { hostTls, normaliseTls, onceConnected } from './host-tls.js';
import { Supervisor, type ModemState, type RecoveryReason } from './supervisor.js';
import { readInfo, type ModemInfo } from './info.js';
import { ModuleTls, sslVersionValue } from './module-tls.js';
import { openTransport, type Transport, type TransportOptions } from './transport.js';
import type { DeliveryTracker } from './delivery.js';
import { abandonOnAbort, abortReason } from './connect-abort.js';
import type { ModemConnectOptions, ModemOpenOptions, SocketOpened } from './options.js';

const debug = createDebug('air780:modem:state');

/**
 * How long `close()` waits for the module to confirm the `AT+CIPCLOSE` of the links still open: a
 * close is a user waiting, and a module that does not answer within it drops the links itself later.
 */
const LINK_CLOSE_BUDGET_MS = 1500;

export type { ModemState, RecoveryReason };
export type { ModemOpenOptions, ModemConnectOptions, SocketOpened } from './options.js';

/**
 * An Air780E-series module: bring-up, supervision and sockets.
 *
 * Events: 'state' (state, previous), 'progress' (ProgressEvent), 'recovering' (reason),
 * 'online', 'close', 'socket' (ModemSocket, {@link SocketOpened}) as each link is asked for.
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
  private readonly opts: Required<
    Omit<ModemOpenOptions, keyof TransportOptions | 'apn' | 'user' | 'password' | 'onProgress' | 'blockSilenceMs'>
  > &
    ModemOpenOptions;
  private readonly links = new LinkTable();
  private readonly dataPump: DataPump;
  private readonly urcs: LinkUrcs;
  private readonly cuts: BlockCuts;
  private readonly supervisor: Supervisor;
  private readonly connector: LinkConnector;
  private unsubscribe: Array<() => void> = [];
  private lifetime = new AbortController();
  private readonly moduleTls: ModuleTls;
  private ip: string | undefined;
  private readonly driver: LinkDriver;
  private closing: Promise<void> | undefined;

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
    // Each part gets a plain object: settings fixed at open as values, the state as a getter (the
    // parts must see it change).
    const { rxMode, commandTimeoutMs } = this.opts;
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
    this.cuts = new BlockCuts(this.links, {
      commandTimeoutMs,
      cmd: (c, o) => this.cmd(c, o),
      rebooted: () => this.supervisor.onReboot(),
    });
    this._at = this.attach(transport.stream);
    this.moduleTls = new ModuleTls((c, o) => this.cmd(c, o));
    this.dataPump = new DataPump(
      {
        rxMode,
        commandTimeoutMs,
        isOnline: () => this._state === 'online',
        channel: () => this._at,
        cmd: (c, o) => this.cmd(c, o),
      },
      this.links,
    );
    this.connector = new LinkConnector(
      {
        get state() {
          return self._state;
        },
        commandTimeoutMs,
        whenOnline: (t) => this.whenOnline(t),
        cmd: (c, o) => this.cmd(c, o),
        pump: () => this.dataPump.pump(),
      },
      this.links,
      this.moduleTls,
    );
    this.driver = {
      rxMode,
      open: (s) => this.connector.open(s),
      kick: () => this.dataPump.kickSoon(),
      release: (s, closeOnModule) => this.connector.release(s, closeOnModule),
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
    return this.openSocket(host, port, options);
  }

  /** {@link connect}; `label` names the TLS the caller puts on top (openStream's host TLS). */
  private openSocket(
    host: string,
    port: number,
    options: ModemConnectOptions,
    label?: SocketOpened['tls'],
  ): ModemSocket {
    if (this._state === 'closed') throw new ModemNotReadyError('closed');
    atHost(host);
    atInt(port, { name: 'port', min: 1, max: 65535 });
    const mode = normaliseTls(options.tls);
    if (mode === 'host') {
      throw new BadArgumentError(
        'tls',
        "connect() gives the raw link; use openStream(host, port, { tls: 'host' }) for host TLS",
      );
    }
    checkSslVersion(mode, options);
    const socket = new ModemSocket(this.driver, {
      host,
      port,
      moduleTls: mode === 'modem',
      ...(mode === 'modem' ? { tls: options } : {}),
      timeoutMs: options.timeoutMs ?? this.opts.connectTimeoutMs,
      pushBufferLimit: this.opts.pushBufferLimit,
    });
    if (this.listenerCount('socket') > 0)
      this.emit('socket', socket, {
        host,
        port,
        tls: label ?? (mode === 'modem' ? 'modem' : 'none'),
      } satisfies SocketOpened);
    socket.connect();
    if (options.signal) {
      const dispose = abandonOnAbort(socket, options.signal, true);
      socket.once('connect', dispose);
      socket.once('close', dispose);
    }
    return socket;
  }

  /**
   * A connected stream to host:port: a `ModemSocket`, or Node's TLS over one (`tls: 'host'`/true),
   * or module TLS (`tls: 'modem'`). It carries the link's `delivery` tracker.
   */
  async openStream(
    host: string,
    port: number,
    options: ModemConnectOptions = {},
  ): Promise<Duplex & { delivery: DeliveryTracker }> {
    const mode = normaliseTls(options.tls);
    checkSslVersion(mode, options);
    const { sslVersion: _checked, ...linkOptions } = options;
    const socket = this.openSocket(
      host,
      port,
      { ...(mode === 'modem' ? options : linkOptions), tls: mode === 'modem' ? 'modem' : false },
      mode === 'modem' ? 'modem' : mode === 'host' ? 'host' : 'none',
    );
    const signal = options.signal;
    try {
      await onceConnected(socket);
      if (mode !== 'host') return socket;
      // The TLS handshake is part of the connect: an abort during it destroys the link under it
      // (hostTls then fails on the TLS stream's close, and the abort reason is thrown below).
      const dispose = signal ? abandonOnAbort(socket, signal, false) : () => {};
      try {
        return await hostTls(socket, host, port, options, options.timeoutMs ?? this.opts.connectTimeoutMs);
      } finally {
        dispose();
      }
    } catch (err) {
      throw signal?.aborted ? abortReason(signal) : err;
    }
  }

  /**
   * Close every socket, end the module links they held (`AT+CIPCLOSE` each, within 1.5 s
   * in all), then close the AT channel and the port.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this._state === 'closed') return;
    // A module keeps links nobody closed until they time out on their own (and the mock keeps the
    // real TCP socket behind each, which holds a Node process open): end them while the module
    // still answers.
    if (this._state === 'online') await this.endLinks();
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

  /**
   * Destroys every socket, which sends `AT+CIPCLOSE` for each link open on the module (the
   * connector's release), and waits for those closes to finish, at most LINK_CLOSE_BUDGET_MS: a
   * module that stops answering must not keep `close()` from closing the port.
   */
  private async endLinks(): Promise<void> {
    for (const s of this.links.sockets) s?.destroy();
    const deadline = performance.now() + Math.min(LINK_CLOSE_BUDGET_MS, this.opts.commandTimeoutMs);
    while (this.links.closing.size > 0 && this._state === 'online') {
      const left = deadline - performance.now();
      if (left <= 0) {
        debug('close: %d link(s) still closing on the module; closing the port anyway', this.links.closing.size);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.links.closingSettled(), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
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
    const at = new AtChannel(stream, {
      name: 'air780',
      syncTimeoutMs: this.opts.resyncTimeoutMs,
      ...(this.opts.baudRate !== undefined ? { baudRate: this.opts.baudRate } : {}),
      ...(this.opts.blockSilenceMs !== undefined ? { blockSilenceMs: this.opts.blockSilenceMs } : {}),
    });
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [
      ...this.urcs.subscribe(at),
      this.cuts.subscribe(at),
      at.onShape(URC.ready, () => {
        // Nothing written before the restart will be answered: do not wait out its timeout.
        at.abandonInflight('the module restarted (RDY)');
        this.supervisor.onReboot();
      }),
      at.onShape(URC.pdpDeact, () => this.supervisor.recover('pdp')),
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

  // ---- links (allocation and CIPSTART/CIPCLOSE: connector.ts) -------------------------------

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
}

/**
 * `sslVersion` is checked before a link is taken: a bad value, or one given for a link the module
 * does not encrypt (host TLS negotiates its own version), is `ERR_BAD_ARGUMENT` rather than an
 * option silently ignored or a socket error after allocation.
 */
function checkSslVersion(mode: ReturnType<typeof normaliseTls>, options: ModemConnectOptions): void {
  if (options.sslVersion === undefined) return;
  if (mode !== 'modem') {
    throw new BadArgumentError(
      'sslVersion',
      "sslVersion applies to module TLS (tls: 'modem') only; host TLS negotiates TLS 1.2/1.3 by itself",
    );
  }
  sslVersionValue(options);
}
