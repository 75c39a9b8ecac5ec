import type { Duplex } from 'node:stream';
import type { DeliveryTracker } from '../modem/delivery.js';

// The application side of send(): payload conversion and the accepted / acknowledged callbacks.

/** Text as UTF-8; binary views without a copy. */
export function toBuffer(data: string | Buffer | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The stream's delivery tracker (module acceptance and TCP acknowledgement; a modem socket has one), or null. Checked by shape:
 * any Duplex may be passed through the `connect` option.
 */
export function deliveryOf(stream: Duplex): DeliveryTracker | null {
  const maybeTracker = (stream as Duplex & { delivery?: unknown }).delivery;
  return maybeTracker && typeof (maybeTracker as DeliveryTracker).waitAcked === 'function' ? (maybeTracker as DeliveryTracker) : null;
}

/**
 * A send that cannot start: the callbacks get `err` on a microtask (never synchronously, as after a
 * real write); with no callback at all it throws.
 */
export function refuseSend(err: Error, cb: ((err?: Error) => void) | undefined, onAcked: ((err?: Error) => void) | undefined): void {
  if (cb) queueMicrotask(() => cb(err));
  if (onAcked) queueMicrotask(() => onAcked(err));
  if (!cb && !onAcked) throw err;
}

/**
 * The Sender's write callback for one frame. On a stream with a delivery tracker (the module path)
 * `cb` runs once the module accepted every byte written into the link up to the end of this frame's
 * write, `onAcked` once the peer's TCP acknowledged them; a failure (link closed, module reset,
 * stall) reaches both as an error, never as success. On a plain stream both run on write
 * completion. The offset is read at the write callback: for host TLS that is when the ciphertext is
 * in the link. It may include frames written right after this one, so a callback can come a little
 * late, never early.
 */
export function afterWrite(
  delivery: DeliveryTracker | null,
  cb: ((err?: Error) => void) | undefined,
  onAcked: ((err?: Error) => void) | undefined,
): (err?: Error | null) => void {
  return (err) => {
    if (err || !delivery) {
      cb?.(err ?? undefined);
      onAcked?.(err ?? undefined);
      return;
    }
    const offset = delivery.bytesQueued;
    if (cb) {
      // A tracker from a user's `connect` may predate acceptance tracking: write completion then.
      if (typeof delivery.waitAccepted === 'function') {
        delivery.waitAccepted(offset).then(
          () => cb(),
          (e: Error) => cb(e),
        );
      } else cb();
    }
    if (onAcked) {
      delivery.waitAcked(offset).then(
        () => onAcked(),
        (e: Error) => onAcked(e),
      );
    }
  };
}
