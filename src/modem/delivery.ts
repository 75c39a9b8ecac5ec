import createDebug from 'debug';
import { DeliveryTimeoutError, LinkClosedError, ModemAbortError } from './errors.js';

const debug = createDebug('air780:modem:socket');

/**
 * Delivery tracking of one link, in byte offsets of what was written into it: how many bytes the
 * module accepted (`DATA ACCEPT`/`SEND OK` of `AT+CIPSEND`) and how many the peer's TCP acknowledged
 * (`AT+CIPACK=<n>`: `+CIPACK: <sent>,<acked>,<nacked>`).
 *
 * A stream returned by `Modem.openStream` and every `ModemSocket` carry one as `delivery`; the
 * websocket layer completes a send once the module accepted its bytes and fires the LuatOS `sent`
 * event on the peer's acknowledgement, instead of on write completion (which only means the bytes
 * are queued on the host).
 */
export interface DeliveryTracker {
  /** Total bytes written into the link so far (the offset the next write starts at). */
  readonly bytesQueued: number;
  /** Bytes the module accepted so far (the socket's `bytesWritten`). */
  readonly bytesAccepted: number;
  /**
   * Resolves once the module accepted every byte up to `offset` (driven by the send results, no
   * polling). Rejects with the socket's error (`ERR_LINK_CLOSED`, or `ERR_MODEM_RESET` after a
   * module reboot or port loss) as soon as the link is gone, the socket destroyed or its writable
   * side failed with bytes up to `offset` not accepted; with `ERR_DELIVERY_TIMEOUT`
   * ({@link AcceptTimeoutError}) when the module accepted nothing on this link for `timeoutMs`
   * (default 30 000) while the wait was outstanding (a stall, not a deadline: a long backlog that
   * keeps moving does not time out); with `ERR_ABORTED` on abort.
   */
  waitAccepted(offset: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /**
   * Resolves once the peer's TCP acknowledged every byte up to `offset` (AT+CIPACK).
   * Rejects on timeout (`ERR_DELIVERY_TIMEOUT`), on abort (`ERR_ABORTED`) or when the link closes
   * before the bytes were acknowledged (`ERR_LINK_CLOSED`).
   */
  waitAcked(offset: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

/**
 * `waitAccepted` saw the module accept nothing on the link for its timeout. Same code as
 * {@link DeliveryTimeoutError} (it is one): the link is stalled.
 */
export class AcceptTimeoutError extends DeliveryTimeoutError {
  constructor(offset: number, accepted: number, ms: number) {
    super(offset, accepted, ms);
    this.name = 'AcceptTimeoutError';
    this.message = `the module accepted ${accepted} bytes, not ${offset}, and nothing more for ${ms} ms; the link or the module may be stalled`;
  }
}

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** @internal What {@link LinkDelivery} reads of its socket. */
export interface DeliveryLink {
  readonly link: number;
  readonly connecting: boolean;
  readonly state: { readonly open: boolean };
}

/**
 * @internal Acceptance (`DATA ACCEPT`, reported by the socket's `onSent`) and peer acknowledgement of one
 * link. Polls `AT+CIPACK=<n>` only while someone waits for an acknowledgement, backing off, each
 * wait bounded. Settled waiters are removed at once.
 */
export class LinkDelivery implements DeliveryTracker {
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
    private readonly socket: DeliveryLink,
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
  private addWaiter(
    set: Set<Waiter>,
    offset: number,
    signal: AbortSignal | undefined,
    what: string,
    arm: (w: Waiter) => () => void,
  ): Promise<void> {
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
        if (!this.socket.state.open && !this.socket.connecting) {
          // The link is gone and the module forgets its counters with it: what was not acknowledged
          // by now never will be, so say so at once instead of letting each waiter time out.
          this.failAcked(
            new LinkClosedError(
              this.socket.link,
              `the link closed with bytes up to ${this.acked} of ${this.queued} acknowledged by the peer`,
            ),
          );
          break;
        }
        if (this.socket.state.open) {
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
