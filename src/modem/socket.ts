import { Duplex } from 'node:stream';
import createDebug from 'debug';
import { LinkDelivery, type DeliveryTracker } from './delivery.js';
import { LinkState } from './links.js';
import type { ModuleTlsOptions } from './module-tls.js';
import { DataLostError, LinkClosedError, ReceiveOverflowError } from './errors.js';

const debug = createDebug('air780:modem:socket');

/** Largest payload of one `AT+CIPSEND` (and of one received chunk). */
export const MAX_CHUNK = 1460;

/**
 * How long a peer close waits before the readable side ends. Some firmware reports a bearer loss
 * link by link (`<n>, CLOSED`) just before `+PDP: DEACT`: within this window the socket still
 * holds its link, so the bearer loss fails it with `ERR_MODEM_RESET` instead of a clean 'end'.
 */
export const PEER_CLOSE_GRACE_MS = 100;

/** Sends in a row of which the module accepted nothing before the socket fails with ERR_DATA_LOST. */
const MAX_EMPTY_ACCEPTS = 3;

/** What a socket needs from the modem that owns its link. Internal. */
export interface LinkDriver {
  readonly rxMode: 'push' | 'pull';
  /** Open the link (CIPSTART...); resolves on `CONNECT OK`. */
  open(socket: ModemSocket): Promise<void>;
  /** The socket has data to send, or (pull mode) wants to read: schedule it. */
  kick(socket: ModemSocket): void;
  /** Close the link on the module (CIPCLOSE) if it is still open there, then free it. */
  release(socket: ModemSocket, closeOnModule: boolean): void;
  /** Bytes the peer acknowledged on this link (AT+CIPACK=<n>). */
  pollAcked(socket: ModemSocket): Promise<number>;
}

/** Options of a `ModemSocket`. */
export interface ModemSocketOptions {
  host: string;
  port: number;
  /** Module TLS (AT+CIPSSL) on this link. */
  moduleTls: boolean;
  /** Module TLS: CA, servername and verification, read when the link is set up. */
  tls?: ModuleTlsOptions;
  timeoutMs: number;
  /** Push mode: unread bytes allowed before the socket fails with ERR_RX_OVERFLOW. */
  pushBufferLimit: number;
}

/**
 * One module link (0–5) as a `stream.Duplex` with the `net.Socket` surface libraries use:
 * `connect`/'connect', backpressured `write`/'drain', `end`, `destroy`, `setTimeout`/'timeout',
 * `setNoDelay`, `setKeepAlive`, `remoteAddress`/`remotePort`, `bytesRead`/`bytesWritten`,
 * 'close' with `hadError`.
 *
 * The module cannot half-close: `end()` flushes what was written, then closes the whole link
 * (`AT+CIPCLOSE`); the readable side ends with it.
 */
export class ModemSocket extends Duplex {
  /** The module link id 0–5 while one is allocated, else -1. */
  link = -1;
  /** Host as given to connect (the module resolves names itself). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily = 'IPv4';
  readonly localAddress: string | undefined = undefined;
  readonly localPort: number | undefined = undefined;
  /** True until 'connect'. */
  connecting = false;
  bytesRead = 0;
  /** Bytes the module accepted for sending (`DATA ACCEPT`). */
  bytesWritten = 0;
  /** Peer acknowledgement tracking (AT+CIPACK). */
  readonly delivery: DeliveryTracker;

  /** @internal */ readonly options: ModemSocketOptions;
  /** @internal The module link's state; changed only through its transitions (links.ts). */
  readonly state = new LinkState();

  private readonly driver: LinkDriver;
  private txQueue: Buffer[] = [];
  /** Bytes in {@link txQueue}. */
  private queuedBytes = 0;
  private heldWriteCb: ((err?: Error | null) => void) | undefined;
  private finalCb: ((err?: Error | null) => void) | undefined;
  private started = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly tracker: LinkDelivery;
  private hadError = false;
  /**
   * Bytes written into the socket could not be sent (the link closed under them); set while the
   * readable side still delivers what the peer sent. See {@link failWritable}.
   */
  private writeError: Error | undefined;
  private readonly txHighWater: number;
  /** EOF was pushed to the readable side. */
  private eofPushed = false;
  /** Pull mode: `end()` finished while a read was under way; EOF follows its data. */
  private eofAfterRead = false;
  /** A peer close waiting out {@link PEER_CLOSE_GRACE_MS}. */
  private peerCloseTimer: NodeJS.Timeout | undefined;
  /** Sends in a row the module accepted nothing of. */
  private emptyAccepts = 0;

  /** @internal created by `Modem.connect` */
  constructor(driver: LinkDriver, options: ModemSocketOptions) {
    super({
      allowHalfOpen: false,
      emitClose: false,
      decodeStrings: true,
      // Pull mode stops reading from the module at this mark: it bounds memory end to end.
      readableHighWaterMark: 64 * 1024,
      writableHighWaterMark: 16 * 1024,
    });
    this.driver = driver;
    this.options = options;
    this.remoteAddress = options.host;
    this.remotePort = options.port;
    // Enough queued to always have a full chunk ready for the next CIPSEND.
    this.txHighWater = 4 * MAX_CHUNK;
    this.tracker = new LinkDelivery(this, () => driver.pollAcked(this));
    this.delivery = this.tracker;
  }

  /** @internal Bytes written and not yet taken for a CIPSEND. */
  get txBytes(): number {
    return this.queuedBytes;
  }

  /** `'opening'` while connecting, `'open'`, `'readOnly'`/`'writeOnly'` after one side ended, `'closed'`. */
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Like `net.Socket.pending`: true before 'connect'. */
  get pending(): boolean {
    return !this.state.open && !this.destroyed;
  }

  /**
   * Start connecting (done for you by `Modem.connect`). Calling it again is an error, as on
   * `net.Socket` while connecting.
   */
  connect(listener?: () => void): this {
    if (this.started) throw new LinkClosedError(this.link, 'connect() called twice on the same socket');
    this.started = true;
    this.connecting = true;
    if (listener) this.once('connect', listener);
    this.driver.open(this).then(
      () => {
        if (this.destroyed) return;
        this.connecting = false;
        this.state.connected();
        this.touch();
        debug('link %d connected to %s:%d', this.link, this.remoteAddress, this.remotePort);
        this.emit('connect');
        this.emit('ready');
        if (this.txBytes > 0) this.driver.kick(this);
        if (this.finalCb) this.maybeFinish();
      },
      (err: Error) => {
        this.connecting = false;
        this.destroy(err);
      },
    );
    return this;
  }

  /** Arms an idle timer: 'timeout' is emitted after `ms` without traffic (0 disables). */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = Math.max(0, Math.floor(ms));
    if (callback) {
      if (this.idleMs === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  /** The idle timeout set by `setTimeout` (undefined when off), as on `net.Socket`. */
  get timeout(): number | undefined {
    return this.idleMs > 0 ? this.idleMs : undefined;
  }

  /** Accepted for `net.Socket` compatibility; the module sends each CIPSEND at once. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** Accepted for `net.Socket` compatibility; use an application heartbeat over cellular. */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address?: string; port?: number; family?: string } {
    return {};
  }

  // ---- writable side -------------------------------------------------------------------------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // Nothing can be sent any more: this write's callback gets the error when the socket is
    // destroyed, after the readable side has delivered everything (see failWritable).
    if (this.writeError) {
      this.heldWriteCb = cb;
      return;
    }
    if (chunk.length === 0) return cb();
    if (this.state.peerClosed) {
      this.heldWriteCb = cb;
      this.failWritable(
        new LinkClosedError(
          this.link,
          `the peer closed the link; ${chunk.length} bytes written after that were not sent`,
        ),
      );
      return;
    }
    this.txQueue.push(chunk);
    this.queuedBytes += chunk.length;
    this.tracker.queued += chunk.length;
    this.touch();
    if (this.state.open) this.driver.kick(this);
    if (this.txBytes < this.txHighWater) cb();
    else this.heldWriteCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finalCb = cb;
    this.maybeFinish();
  }

  /** @internal Take up to `max` bytes (coalescing small writes) for the next CIPSEND. */
  takeChunk(max: number): Buffer | undefined {
    if (this.txBytes === 0) return undefined;
    const parts: Buffer[] = [];
    let n = 0;
    while (n < max && this.txQueue.length > 0) {
      const head = this.txQueue[0]!;
      const room = max - n;
      if (head.length <= room) {
        parts.push(head);
        n += head.length;
        this.txQueue.shift();
      } else {
        parts.push(head.subarray(0, room));
        this.txQueue[0] = head.subarray(room);
        n += room;
      }
    }
    this.queuedBytes -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  /**
   * @internal The module accepted only `accepted` bytes of a send (`DATA ACCEPT:<n>,<count>`
   * short of its length): those are credited, `rest` goes back to the head of the queue and is
   * sent next. A module that keeps accepting nothing fails the socket with `ERR_DATA_LOST`.
   */
  onPartlySent(accepted: number, rest: Buffer): void {
    if (this.destroyed || this.writeError) return;
    debug('link %d: the module accepted %d bytes, %d more to send again', this.link, accepted, rest.length);
    this.emptyAccepts = accepted === 0 ? this.emptyAccepts + 1 : 0;
    if (this.emptyAccepts >= MAX_EMPTY_ACCEPTS) {
      this.destroy(
        new DataLostError(this.link, 'unaccepted', {
          detail: `none of ${rest.length} bytes accepted in ${MAX_EMPTY_ACCEPTS} sends in a row`,
        }),
      );
      return;
    }
    this.txQueue.unshift(rest);
    this.queuedBytes += rest.length;
    if (accepted > 0) this.onSent(accepted);
  }

  /** @internal The module accepted `len` bytes. */
  onSent(len: number): void {
    if (len > 0) this.emptyAccepts = 0;
    this.bytesWritten += len;
    this.tracker.onAccepted(this.bytesWritten);
    this.touch();
    if (this.heldWriteCb && !this.writeError && this.txBytes < this.txHighWater) {
      const cb = this.heldWriteCb;
      this.heldWriteCb = undefined;
      cb();
    }
    this.maybeFinish();
  }

  /**
   * @internal Pull mode: the module still holds (or is handing over) bytes for this link. A send it
   * refuses then is a peer close it withholds until those bytes are read (REMOTE CLOSING).
   */
  holdsUnread(): boolean {
    return this.driver.rxMode === 'pull' && (this.state.rxAvailable || this.state.readInFlight);
  }

  /**
   * @internal A send failed because the link closed under it: its `len` bytes never left. Always
   * settles the socket (a pending `end()` would otherwise wait for the send forever). After a peer
   * close (reported, or withheld by a pull-mode module until drained) only the writable side fails:
   * what the peer sent before its FIN is still delivered. Otherwise the socket is destroyed.
   */
  onSendLost(len: number, cause: Error): void {
    if (this.destroyed) return;
    const unsent = len + this.txBytes;
    if (this.state.peerClosed || this.holdsUnread()) {
      const why = this.state.peerClosed
        ? 'the peer closed the link'
        : 'the module refused a send while it still held data from the peer (it closed)';
      this.failWritable(
        new LinkClosedError(this.link, `${why} before ${unsent} written bytes were sent; they were not delivered`, {
          cause,
        }),
      );
      return;
    }
    this.destroy(
      new LinkClosedError(
        this.link,
        `the link closed before ${unsent} written bytes were sent; they were not delivered`,
        { cause },
      ),
    );
  }

  /**
   * The sending side is dead but the receiving side is not: bytes the peer sent before its FIN are
   * in the readable buffer (push) or still in the module (pull). Node's Duplex offers no way to
   * fail only the writable side: an error passed to a write callback or `_final` errors the whole
   * stream and destroys it, discarding unread data. So the error is held: queued bytes are dropped,
   * the delivery tracker fails at once (nothing past `bytesWritten` will be acknowledged), later
   * writes are held (their callbacks get this error, and writers see backpressure meanwhile), and
   * once the readable side has emitted 'end' the socket is destroyed with it: 'error' after every
   * byte was read, then 'close' with hadError true. Never silent: 'end' is followed by the error.
   */
  private failWritable(err: Error): void {
    if (this.writeError || this.destroyed) return;
    debug('link %d: %s', this.link, err.message);
    this.writeError = err;
    this.txQueue = [];
    this.queuedBytes = 0;
    this.tracker.fail(err);
    this.once('end', () => this.destroy(err));
    this.destroyWhenDelivered();
  }

  /**
   * After {@link failWritable}: destroy with its error as soon as the reader has had everything.
   * That is at 'end' (armed there), but 'end' never comes to a reader that is not reading (paused,
   * or a write-only user that never read: `pipeline(source, socket)` would wait for ever), so the
   * socket also fails once nothing is left to read: at once when nobody ever read it (as
   * `net.Socket` does), else a turn after EOF, when a flowing reader has had its 'end'.
   */
  private destroyWhenDelivered(): void {
    const err = this.writeError;
    if (!err || this.destroyed) return;
    const nothingToRead = this.readableLength === 0 && !this.state.rxAvailable && !this.state.readInFlight;
    if (this.readableEnded || (this.readableFlowing === null && nothingToRead)) this.destroy(err);
    else if (this.eofPushed && this.readableLength === 0) {
      setImmediate(() => {
        if (!this.destroyed) this.destroy(err);
      });
    }
  }

  private maybeFinish(): void {
    if (!this.finalCb || this.writeError || this.state.sendInFlight || this.txBytes > 0 || this.connecting) return;
    const cb = this.finalCb;
    this.finalCb = undefined;
    if (this.state.open) {
      this.state.released();
      this.driver.release(this, !this.state.peerClosed);
    }
    cb();
    // The module closes both directions at once: nothing more will arrive, except the answer to
    // a read already under way (its CIPRXGET goes out before the CIPCLOSE): EOF waits for it.
    if (this.state.readInFlight) this.eofAfterRead = true;
    else this.pushEof();
  }

  /** End the readable side, once. */
  private pushEof(): void {
    if (this.eofPushed) return;
    this.eofPushed = true;
    this.push(null);
    // Nothing left to read: 'end' now, even for a reader that paused (a websocket client stops
    // reading after the close frame and waits for the end of the stream). Every byte was delivered.
    if (this.readableLength === 0 && !this.destroyed) this.read(0);
    this.destroyWhenDelivered();
  }

  /** @internal Pull mode: a read (CIPRXGET) finished, its data delivered. */
  readSettled(): void {
    if (this.eofAfterRead && !this.state.readInFlight) {
      this.eofAfterRead = false;
      this.pushEof();
    }
  }

  // ---- readable side -------------------------------------------------------------------------

  /** Readable asked for data and no push has refused more since (the standard _read/push contract). */
  private readRequested = false;

  override _read(): void {
    this.readRequested = true;
    // After a peer close the module may still hold data: keep reading until drained.
    if (this.driver.rxMode === 'pull' && this.state.rxAvailable) this.driver.kick(this);
    else if (this.driver.rxMode === 'pull') this.maybeEndPull();
  }

  /** @internal Pull mode: does the reader want more bytes? */
  wantsData(): boolean {
    return !this.destroyed && (this.readRequested || this.readableLength < this.readableHighWaterMark);
  }

  /** @internal Bytes received from the module. */
  deliver(data: Buffer): void {
    if (this.state.dataLost) {
      debug('link %d: %d bytes after a cut block dropped', this.link, data.length);
      return;
    }
    if (this.destroyed || this.eofPushed) {
      debug('link %d: %d bytes after close dropped', this.link, data.length);
      return;
    }
    this.bytesRead += data.length;
    this.touch();
    if (!this.push(data)) this.readRequested = false;
    if (this.driver.rxMode === 'push' && this.readableLength > this.options.pushBufferLimit) {
      this.destroy(new ReceiveOverflowError(this.link, this.options.pushBufferLimit));
    }
  }

  /** @internal The peer closed the link (`<n>, CLOSED` or an unrequested `<n>, CLOSE OK`). */
  onPeerClose(): void {
    if (this.destroyed || this.state.peerClosed) return;
    this.state.peerClose();
    debug('link %d closed by peer', this.link);
    // Sends stop now; the end waits out the rest of a possible bearer-loss burst (see PEER_CLOSE_GRACE_MS).
    this.peerCloseTimer = setTimeout(() => {
      this.peerCloseTimer = undefined;
      if (this.driver.rxMode === 'push') this.endReadable();
      else this.maybeEndPull();
    }, PEER_CLOSE_GRACE_MS);
  }

  /**
   * @internal Pull mode: end once the module's buffer is drained, after a peer close or after a
   * refused send (the module withholds CLOSED until drained; if it never says more, the refusal
   * still ends the link here, the bytes read so far delivered).
   */
  maybeEndPull(): void {
    if (
      !(this.state.peerClosed || this.writeError) ||
      this.state.rxAvailable ||
      this.state.readInFlight ||
      this.destroyed ||
      this.peerCloseTimer
    )
      return;
    this.endReadable();
  }

  /** @internal Pull mode: the module refused a read after a close: anything still announced is gone. */
  onReadRefused(err: Error): void {
    this.state.unreadDiscarded();
    if (this.state.peerClosed)
      this.destroy(
        new LinkClosedError(this.link, 'the module discarded unread data when the peer closed', { cause: err }),
      );
    else this.destroy(new LinkClosedError(this.link, 'the module refused a read', { cause: err }));
  }

  private endReadable(): void {
    if (this.txBytes > 0) {
      this.failWritable(
        new LinkClosedError(
          this.link,
          `the peer closed with ${this.txBytes} written bytes not yet sent; they were not delivered`,
        ),
      );
    }
    // A link the module has not reported closed (a refused send in pull mode) is closed on it, so
    // its id stays reserved until the module confirms.
    const closeOnModule = this.state.open && !this.state.peerClosed;
    this.state.released();
    this.driver.release(this, closeOnModule);
    this.pushEof();
    // The writable side is not ended here: a write-after-end would destroy the stream before its
    // buffered bytes were read. Writes from now on fail with ERR_LINK_CLOSED after 'end' instead
    // (`_write`), and Node ends the writable side itself once 'end' was emitted (allowHalfOpen false).
  }

  // ---- teardown ------------------------------------------------------------------------------

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.hadError = err != null;
    this.clearIdle();
    if (this.peerCloseTimer) clearTimeout(this.peerCloseTimer);
    this.peerCloseTimer = undefined;
    const closeOnModule = this.state.open || this.connecting;
    this.state.released();
    this.connecting = false;
    this.driver.release(this, closeOnModule);
    this.txQueue = [];
    this.queuedBytes = 0;
    this.tracker.fail(err ?? new LinkClosedError(this.link, 'the socket was destroyed'));
    const held = this.heldWriteCb;
    this.heldWriteCb = undefined;
    this.finalCb = undefined;
    cb(err);
    held?.(err ?? new LinkClosedError(this.link, 'the socket was destroyed'));
    setImmediate(() => this.emit('close', this.hadError));
  }

  private touch(): void {
    this.clearIdle();
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        this.emit('timeout');
      }, this.idleMs);
    }
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
