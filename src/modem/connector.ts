import createDebug from 'debug';
import type { AtResponse, AtSendOptions, FinalMatcher } from '../at/index.js';
import { isErrorFinal } from '../at/index.js';
import { AtCommandError } from '../at/errors.js';
import { atHost } from '../at/args.js';
import {
  ConnectFailedError,
  ConnectTimeoutError,
  LinkClosedError,
  ModemNotReadyError,
  NoFreeLinkError,
  TlsMixedError,
} from './errors.js';
import type { LinkTable } from './links.js';
import type { ModuleTls } from './module-tls.js';
import type { ModemSocket } from './socket.js';
import type { ModemState } from './supervisor.js';

const debug = createDebug('air780:modem:link');

/** @internal What opening and closing links needs from the modem. */
export interface ConnectorHost {
  readonly state: ModemState;
  readonly commandTimeoutMs: number;
  /** While recovering, wait (bounded) for the module to be back. */
  whenOnline(timeoutMs: number): Promise<void>;
  /** A command from the online modem; a timeout starts recovery. */
  cmd(command: string, options?: AtSendOptions): Promise<AtResponse>;
  /** Run the data pump: a freed link may let queued work go. */
  pump(): void;
}

/**
 * @internal Opens and releases module links: allocation of a link id (one connect at a time, since
 * the module-wide TLS switch is shared), the module-TLS setup, `AT+CIPSTART` and its link event,
 * and `AT+CIPCLOSE`, keeping an id reserved until the module confirms its close.
 */
export class LinkConnector {
  private connectLock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: ConnectorHost,
    private readonly links: LinkTable,
    private readonly moduleTls: ModuleTls,
  ) {}

  /** Allocate a link for `socket` and connect it; resolves on `CONNECT OK`. */
  async open(socket: ModemSocket): Promise<void> {
    const { host, port, moduleTls, timeoutMs } = socket.options;
    await this.host.whenOnline(timeoutMs);
    if (socket.destroyed) throw new LinkClosedError(-1, 'destroyed before connecting');
    // Allocation and the module-wide TLS switch are decided one connect at a time.
    const prepared = this.connectLock.then(async () => {
      if (socket.destroyed) throw new LinkClosedError(-1, 'destroyed before connecting');
      if (this.host.state !== 'online') throw new ModemNotReadyError(this.host.state);
      for (const s of this.links.sockets) {
        if (s && s.options.moduleTls !== moduleTls) throw new TlsMixedError(moduleTls ? 'tls' : 'plain');
      }
      let n = this.links.free();
      // A link whose CIPCLOSE is still under way is about to be free: wait for it (bounded).
      const deadline = performance.now() + this.host.commandTimeoutMs;
      while (n < 0 && this.links.closing.size > 0 && performance.now() < deadline && this.host.state === 'online') {
        await this.links.closingSettled();
        n = this.links.free();
      }
      if (n < 0) throw new NoFreeLinkError();
      this.links.sockets[n] = socket;
      socket.link = n;
      try {
        if (moduleTls) await this.moduleTls.configureLink(n, host, socket.options.tls ?? {});
        else await this.moduleTls.ensurePlain();
      } catch (err) {
        this.links.vacate(n, socket);
        throw err;
      }
      return n;
    });
    this.connectLock = prepared.catch(() => undefined);
    const n = await prepared;
    for (let attempt = 0; ; attempt++) {
      // Destroyed while its TLS set-up (or a stale close) ran: its release has already given the
      // id up, maybe to another socket, so this one must not start a link on it.
      if (socket.destroyed) {
        this.links.vacate(n, socket);
        throw new LinkClosedError(n, 'destroyed while connecting');
      }
      const result = await this.startLink(n, host, port, timeoutMs, socket);
      if (result === 'CONNECT OK') return;
      if (result === 'ALREADY CONNECT') {
        // The module still holds this id (a close we never saw): close it and try once more. An
        // id the module will not confirm closed is never reused: a new socket on it would get
        // the old peer's bytes.
        const confirmed =
          attempt === 0 &&
          (await this.closeOnModule(n, moduleTls).then(
            () => true,
            (err: unknown) => closeConfirmed(err),
          ));
        if (confirmed) continue;
        if (this.links.sockets[n] === socket) {
          debug('link %d still held by the module: not reusable until it reports the link closed', n);
          this.links.holdUnconfirmed(n);
        }
        if (moduleTls) this.moduleTls.forgetCa(n);
        throw new ConnectFailedError(
          host,
          port,
          'the module reports the link as already connected and did not close it',
        );
      }
      // CONNECT FAIL: the module has no link on this id (it accepts a new CIPSTART at once).
      this.links.vacate(n, socket);
      if (moduleTls) this.moduleTls.forgetCa(n);
      throw new ConnectFailedError(host, port, 'CONNECT FAIL');
    }
  }

  private async startLink(
    n: number,
    host: string,
    port: number,
    timeoutMs: number,
    socket: ModemSocket,
  ): Promise<string> {
    const result = new Promise<string>((resolve, reject) => this.links.connectWaiters.set(n, { resolve, reject }));
    result.catch(() => undefined);
    try {
      await this.host.cmd(`AT+CIPSTART=${n},"TCP",${atHost(host)},${port}`, { timeoutMs: this.host.commandTimeoutMs });
    } catch (err) {
      if (err instanceof AtCommandError && err.cme === 65535) {
        // Field behaviour: `+CME ERROR: 65535` then `<n>, ALREADY CONNECT`. But 65535 is the
        // module's "other error" too: it means ALREADY CONNECT only when that line follows.
        const r = await withTimeout(result, ALREADY_CONNECT_WAIT_MS).catch(() => undefined);
        this.links.connectWaiters.delete(n);
        if (r === 'ALREADY CONNECT') return r;
        if (r !== undefined) debug('link %d: %s after +CME ERROR: 65535 to CIPSTART', n, r);
      }
      this.links.connectWaiters.delete(n);
      this.links.vacate(n, socket);
      throw err instanceof AtCommandError ? new ConnectFailedError(host, port, err.message, { cause: err }) : err;
    }
    try {
      return await withTimeout(result, timeoutMs);
    } catch (err) {
      this.links.connectWaiters.delete(n);
      if (err === TIMEOUT) {
        // Black-holed address: the module never answers. Free the id on the module.
        if (this.links.sockets[n] === socket) this.closeAndFree(n, socket.options.moduleTls);
        throw new ConnectTimeoutError(host, port, timeoutMs);
      }
      throw err;
    }
  }

  /** Free the socket's link; CIPCLOSE it first when it is still open on an online module. */
  release(socket: ModemSocket, closeOnModule: boolean): void {
    const n = socket.link;
    if (n < 0 || this.links.sockets[n] !== socket) return;
    const w = this.links.connectWaiters.get(n);
    if (w) {
      this.links.connectWaiters.delete(n);
      w.reject(new LinkClosedError(n, 'destroyed while connecting'));
    }
    if (!closeOnModule) {
      this.links.sockets[n] = undefined;
      this.host.pump();
      return;
    }
    if (this.host.state !== 'online') {
      // Recovery resets the bearer (CIPSHUT) before any connect: the id is freed then.
      this.links.holdUnconfirmed(n);
      return;
    }
    this.closeAndFree(n, socket.options.moduleTls);
  }

  /**
   * `AT+CIPCLOSE` link `n`, keeping its id reserved until the module confirms the close (`CLOSE
   * OK`, or `+CME ERROR: 3`: already closed). Any other answer leaves the id unusable until the
   * module reports the link closed or the bearer is reset: reused now, it would hand the old
   * peer's data to a new socket.
   */
  private closeAndFree(n: number, tlsLink: boolean): void {
    const generation = this.links.generation;
    this.links.beginClose(n);
    this.closeOnModule(n, tlsLink).then(
      () => {
        if (this.links.generation === generation) this.links.confirmClosed(n);
        this.host.pump();
      },
      (err: Error) => {
        if (this.links.generation !== generation) return;
        if (closeConfirmed(err)) this.links.confirmClosed(n);
        else {
          debug('CIPCLOSE %d not confirmed: %s', n, err.message);
          this.links.holdUnconfirmed(n);
        }
        this.host.pump();
      },
    );
  }

  /**
   * `AT+CIPCLOSE=n`, with a fence behind it on a module-TLS link. There a peer close comes as an
   * unsolicited `<n>, CLOSE OK`, the very line that answers CIPCLOSE: when the two cross, that line
   * ends our command, and the module's own answer to it (`+CME ERROR: 3`, the link being closed
   * already) would be taken as the final result of whatever command comes next — a healthy link's
   * CIPSEND, say. The fence is queued in the same tick, so nothing can come between, and it takes
   * any error line before its `OK`. Resolves with the CIPCLOSE's outcome.
   */
  private closeOnModule(n: number, tlsLink: boolean): Promise<unknown> {
    const timeoutMs = this.host.commandTimeoutMs;
    const close = this.host.cmd(`AT+CIPCLOSE=${n}`, { timeoutMs });
    if (!tlsLink) return close;
    const fence = this.host.cmd('AT', { timeoutMs, final: fenceFinal });
    return Promise.allSettled([close, fence]).then(([c, f]) => {
      if (f.status === 'rejected') debug('fence after CIPCLOSE %d: %s', n, (f.reason as Error).message);
      if (c.status === 'rejected') throw c.reason;
      return c.value;
    });
  }
}

/** How long a `+CME ERROR: 65535` to CIPSTART waits for the `<n>, ALREADY CONNECT` that may follow it. */
const ALREADY_CONNECT_WAIT_MS = 2000;

/** A failed CIPCLOSE that still tells the link is closed: `+CME ERROR: 3`, the link is not open. */
function closeConfirmed(err: unknown): boolean {
  return err instanceof AtCommandError && err.cme === 3;
}

/** The fence's matcher: its `OK` ends it; an error line before that is a crossed close's answer. */
const fenceFinal: FinalMatcher = (line) => (line === 'OK' ? 'final' : isErrorFinal(line) ? 'info' : undefined);

/** `withTimeout` rejects with this, so a timeout is told from the link's own errors. */
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
