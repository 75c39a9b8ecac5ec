import { DeliveryTimeoutError } from './errors.js';

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
