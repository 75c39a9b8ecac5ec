import { Duplex } from 'node:stream';
import createDebug from 'debug';
import { AcceptTimeoutError, type DeliveryTracker } from './delivery.js';
import type { ModuleTlsOptions } from './module-tls.js';
import { DeliveryTimeoutError, LinkClosedError, ModemAbortError, ReceiveOverflowError } from './errors.js';

const debug = createDebug('air780:modem:socket');

/** Largest payload of one `AT+CIPSEND` (and of one received chunk). */
export const MAX_CHUNK = 1460;

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
  /** @internal bytes waiting to be sent */ txBytes = 0;
  /** @internal a CIPSEND for this link is queued or in flight */ sendInFlight = false;
  /** @internal pull mode: the module holds unread bytes */ rxAvailable = false;
  /** @internal pull mode: a CIPRXGET for this link is queued or in flight */ readInFlight = false;
  /** @internal the module link is connected (CONNECT OK seen, not closed) */ linkOpen = false;
  /** @internal the peer closed; pull mode drains before 'end' */ peerClosed = false;

  private readonly driver: LinkDriver;
  private txQueue: Buffer[] = [];
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
    return !this.linkOpen && !this.destroyed;
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
        this.linkOpen = true;
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
    if (this.peerClosed) {
      this.heldWriteCb = cb;
      this.failWritable(new LinkClosedError(this.link, `the peer closed the link; ${chunk.length} bytes written after that were not sent`));
      return;
    }
    this.txQueue.push(chunk);
    this.txBytes += chunk.length;
    this.tracker.queued += chunk.length;
    this.touch();
    if (this.linkOpen) this.driver.kick(this);
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
    this.txBytes -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  /** @internal The module accepted `len` bytes. */
  onSent(len: number): void {
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
    return this.driver.rxMode === 'pull' && (this.rxAvailable || this.readInFlight);
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
    if (this.peerClosed || this.holdsUnread()) {
      const why = this.peerClosed ? 'the peer closed the link' : 'the module refused a send while it still held data from the peer (it closed)';
      this.failWritable(new LinkClosedError(this.link, `${why} before ${unsent} written bytes were sent; they were not delivered`, { cause }));
      return;
    }
    this.destroy(new LinkClosedError(this.link, `the link closed before ${unsent} written bytes were sent; they were not delivered`, { cause }));
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
    this.txBytes = 0;
    this.tracker.fail(err);
    if (this.readableEnded) this.destroy(err);
    else this.once('end', () => this.destroy(err));
  }

  private maybeFinish(): void {
    if (!this.finalCb || this.writeError || this.sendInFlight || this.txBytes > 0 || this.connecting) return;
    const cb = this.finalCb;
    this.finalCb = undefined;
    if (this.linkOpen) {
      this.linkOpen = false;
      this.driver.release(this, !this.peerClosed);
    }
    cb();
    // The module closes both directions at once: nothing more will arrive.
    if (!this.readableEnded) this.push(null);
  }

  // ---- readable side -------------------------------------------------------------------------

  /** Readable asked for data and no push has refused more since (the standard _read/push contract). */
  private readRequested = false;

  override _read(): void {
    this.readRequested = true;
    // After a peer close the module may still hold data: keep reading until drained.
    if (this.driver.rxMode === 'pull' && this.rxAvailable) this.driver.kick(this);
    else if (this.driver.rxMode === 'pull') this.maybeEndPull();
  }

  /** @internal Pull mode: does the reader want more bytes? */
  wantsData(): boolean {
    return !this.destroyed && (this.readRequested || this.readableLength < this.readableHighWaterMark);
  }

  /**
   * @internal A received block of this link was cut (see cuts.ts): the stream has a gap, so later
   * bytes are dropped until the link fails.
   */
  dataLost = false;

  /** @internal Bytes received from the module. */
  deliver(data: Buffer): void {
    if (this.dataLost) {
      debug('link %d: %d bytes after a cut block dropped', this.link, data.length);
      return;
    }
    if (this.destroyed || this.readableEnded) {
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
    if (this.destroyed) return;
    this.peerClosed = true;
    this.linkOpen = false;
    debug('link %d closed by peer', this.link);
    if (this.driver.rxMode === 'push') this.endReadable();
    else this.maybeEndPull();
  }

  /**
   * @internal Pull mode: end once the module's buffer is drained, after a peer close or after a
   * refused send (the module withholds CLOSED until drained; if it never says more, the refusal
   * still ends the link here, the bytes read so far delivered).
   */
  maybeEndPull(): void {
    if (!(this.peerClosed || this.writeError) || this.rxAvailable || this.readInFlight || this.destroyed) return;
    this.endReadable();
  }

  /** @internal Pull mode: the module refused a read after a close: anything still announced is gone. */
  onReadRefused(err: Error): void {
    this.rxAvailable = false;
    if (this.peerClosed) this.destroy(new LinkClosedError(this.link, 'the module discarded unread data when the peer closed', { cause: err }));
    else this.destroy(new LinkClosedError(this.link, 'the module refused a read', { cause: err }));
  }

  private endReadable(): void {
    if (this.txBytes > 0) {
      this.failWritable(new LinkClosedError(this.link, `the peer closed with ${this.txBytes} written bytes not yet sent; they were not delivered`));
    }
    // A link the module has not reported closed (a refused send in pull mode) is closed on it, so
    // its id stays reserved until the module confirms.
    const closeOnModule = this.linkOpen && !this.peerClosed;
    this.linkOpen = false;
    this.driver.release(this, closeOnModule);
    if (!this.readableEnded) this.push(null);
    // The writable side is not ended here: a write-after-end would destroy the stream before its
    // buffered bytes were read. Writes from now on fail with ERR_LINK_CLOSED after 'end' instead
    // (`_write`), and Node ends the writable side itself once 'end' was emitted (allowHalfOpen false).
  }

  // ---- teardown ------------------------------------------------------------------------------

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.hadError = err != null;
    this.clearIdle();
    const closeOnModule = this.linkOpen || this.connecting;
    this.linkOpen = false;
    this.connecting = false;
    this.driver.release(this, closeOnModule);
    this.txQueue = [];
    this.txBytes = 0;
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

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Acceptance (`DATA ACCEPT`, reported by the socket's `onSent`) and peer acknowledgement of one
 * link. Polls `AT+CIPACK=<n>` only while someone waits for an acknowledgement, backing off, each
 * wait bounded. Settled waiters are removed at once.
 */
class LinkDelivery implements DeliveryTracker {
  queued = 0;
  private acked = 0;
  private accepted = 0;
  /** When the module last accepted bytes of this link (monotonic ms): the stall clock of waitAccepted. */
  private lastAcceptAt = performance.now();
  private waiters = new Set<Waiter>();
  private acceptWaiters = new Set<Waiter>();
  private polling = false;
  /** The socket failed: nothing more will be accepted or acknowledged. */
  private failure: Error | undefined;
  /** The link is gone: nothing more will be acknowledged (bytes in flight may still be accepted). */
  private ackFailure: Error | undefined;

  constructor(
    private readonly socket: ModemSocket,
    private readonly poll: () => Promise<number>,
  ) {}

  get bytesQueued(): number {
    return this.queued;
  }

  get bytesAccepted(): number {
    return this.accepted;
  }

  /** The module accepted bytes: `total` is the socket's `bytesWritten`. */
  onAccepted(total: number): void {
    this.accepted = total;
    this.lastAcceptAt = performance.now();
    // Insertion order is offset order for the websocket layer: callbacks settle in send order.
    for (const w of [...this.acceptWaiters]) if (w.offset <= total) w.resolve();
  }

  waitAccepted(offset: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (offset <= this.accepted) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const since = performance.now();
    return this.addWaiter(this.acceptWaiters, offset, options.signal, 'waitAccepted', (w) => {
      // A stall clock, not a deadline: each accepted byte of this link restarts it.
      const check = (): void => {
        const idle = performance.now() - Math.max(since, this.lastAcceptAt);
        if (idle >= timeoutMs) w.reject(new AcceptTimeoutError(offset, this.accepted, timeoutMs));
        else timer = setTimeout(check, Math.ceil(timeoutMs - idle));
      };
      let timer = setTimeout(check, timeoutMs);
      return () => clearTimeout(timer);
    });
  }

  waitAcked(offset: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (offset <= this.acked) return Promise.resolve();
    const failure = this.failure ?? this.ackFailure;
    if (failure) return Promise.reject(failure);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const p = this.addWaiter(this.waiters, offset, options.signal, 'waitAcked', (w) => {
      const timer = setTimeout(() => w.reject(new DeliveryTimeoutError(offset, this.acked, timeoutMs)), timeoutMs);
      return () => clearTimeout(timer);
    });
    void this.run();
    return p;
  }

  /** The socket failed (destroyed, or its writable side): every outstanding wait rejects with `err`. */
  fail(err: Error): void {
    this.failure = err;
    for (const w of [...this.acceptWaiters]) w.reject(err);
    this.failAcked(err);
  }

  private failAcked(err: Error): void {
    this.ackFailure ??= err;
    for (const w of [...this.waiters]) w.reject(err);
  }

  /** Registers a waiter in `set`; `arm` starts its timer and returns how to stop it. */
  private addWaiter(set: Set<Waiter>, offset: number, signal: AbortSignal | undefined, what: string, arm: (w: Waiter) => () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let disarm = (): void => {};
      const cleanup = () => {
        disarm();
        signal?.removeEventListener('abort', onAbort);
        set.delete(w);
      };
      const w: Waiter = {
        offset,
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (e: Error) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = () => w.reject(new ModemAbortError(what));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(w);
      disarm = arm(w);
    });
  }

  private async run(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let delay = 20;
    try {
      while (this.waiters.size > 0 && !this.failure && !this.ackFailure) {
        if (!this.socket.linkOpen && !this.socket.connecting) {
          // The link is gone and the module forgets its counters with it: what was not acknowledged
          // by now never will be, so say so at once instead of letting each waiter time out.
          this.failAcked(new LinkClosedError(this.socket.link, `the link closed with bytes up to ${this.acked} of ${this.queued} acknowledged by the peer`));
          break;
        }
        if (this.socket.linkOpen) {
          try {
            const acked = await this.poll();
            if (acked > this.acked) {
              this.acked = acked;
              delay = 20;
            }
          } catch (err) {
            debug('CIPACK poll failed: %s', (err as Error).message);
          }
          for (const w of [...this.waiters]) if (w.offset <= this.acked) w.resolve();
        }
        if (this.waiters.size === 0) break;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(500, Math.ceil(delay * 1.5));
      }
    } finally {
      this.polling = false;
    }
  }
}
