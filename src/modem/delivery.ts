/**
 * Delivery tracking: how many bytes written into a link the peer's TCP has acknowledged.
 *
 * The module reports this through `AT+CIPACK=<n>` (`+CIPACK: <sent>,<acked>,<nacked>`). A stream
 * returned by `Modem.openStream` and every `ModemSocket` carry one as `delivery`; the websocket
 * layer uses it to fire the LuatOS `sent` event on real delivery instead of on write completion.
 */
export interface DeliveryTracker {
  /** Total bytes written into the link so far (the offset the next write starts at). */
  readonly bytesQueued: number;
  /**
   * Resolves once the peer's TCP acknowledged every byte up to `offset` (AT+CIPACK).
   * Rejects on timeout (`ERR_DELIVERY_TIMEOUT`), on abort (`ERR_ABORTED`) or when the link closes
   * before the bytes were acknowledged (`ERR_LINK_CLOSED`).
   */
  waitAcked(offset: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}
