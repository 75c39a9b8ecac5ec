import type { Duplex } from 'node:stream';
import type { DeliveryTracker } from '../modem/delivery.js';
import type { PerMessageDeflate } from './deflate.js';
import type { Receiver } from './receiver.js';
import type { Sender } from './sender.js';
import type { SendOrder } from './sending.js';

/**
 * One open websocket connection. A client may go through several (reconnect); each keeps its own
 * state so a late event of an old stream cannot touch the new one.
 */
export interface Connection {
  stream: Duplex;
  sender: Sender;
  receiver: Receiver;
  deflate: PerMessageDeflate | null;
  delivery: DeliveryTracker | null;
  /** With a delivery tracker: send callbacks and onAcked callbacks, each kept in send order. */
  order: { accepted: SendOrder; acked: SendOrder } | null;
  closeSent: boolean;
  closeReceived: { code: number; reason: string } | null;
  failure: { code: number; reason: string } | null;
  closeTimer: NodeJS.Timeout | null;
  keepTimer: NodeJS.Timeout | null;
  pongTimer: NodeJS.Timeout | null;
  /** When bytes last arrived, on the monotonic clock of keepalive.ts `now()` (ms). */
  lastRx: number;
  /** Pings folded into the waiting pong since the last pong went out (input-hold.ts answerPing). */
  coalescedPings: number;
  /** Reading stopped until the stream drains: pings kept coming while it was backed up. */
  transportHold: boolean;
  /** The peer ended its side (FIN): nothing can be written any more, but received bytes still count. */
  ended: boolean;
  /** The stream closed; the connection ends once the receiver has decoded everything it holds. */
  streamClosed: boolean;
  done: boolean;
}

/**
 * False once the peer ended the connection: a net socket ends on the FIN, a modem link ends its
 * writable side as soon as the module reports the close, before the last bytes are read.
 */
export function canWrite(c: Connection): boolean {
  return !c.ended && !c.stream.writableEnded && !c.stream.destroyed;
}

/** Bounds the wait for the peer's close (frame and TCP close); the first call's deadline holds. */
export function armCloseTimer(c: Connection, closeTimeoutMs: number): void {
  if (c.closeTimer) return;
  c.closeTimer = setTimeout(() => c.stream.destroy(), closeTimeoutMs);
}
