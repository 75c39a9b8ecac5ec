import type { Duplex } from 'node:stream';
import type { DeliveryTracker } from '../modem/delivery.js';

// The application side of send(): payload conversion and the written / acknowledged callbacks.

/** Text as UTF-8; binary views without a copy. */
export function toBuffer(data: string | Buffer | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The stream's TCP acknowledgement tracker (a modem socket has one), or null. Checked by shape:
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
 * The Sender's write callback: `cb` on write, then `onAcked` once the peer's TCP acknowledged every
 * byte queued so far (the frame is among them), or at once when the stream tracks no delivery.
 */
export function afterWrite(
  delivery: DeliveryTracker | null,
  cb: ((err?: Error) => void) | undefined,
  onAcked: ((err?: Error) => void) | undefined,
): (err?: Error | null) => void {
  return (err) => {
    cb?.(err ?? undefined);
    if (!onAcked) return;
    if (err) return onAcked(err);
    if (!delivery) return onAcked();
    delivery.waitAcked(delivery.bytesQueued).then(
      () => onAcked(),
      (e: Error) => onAcked(e),
    );
  };
}
