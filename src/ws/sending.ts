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
  return maybeTracker && typeof (maybeTracker as DeliveryTracker).waitAcked === 'function'
    ? (maybeTracker as DeliveryTracker)
    : null;
}

/**
 * A send that cannot start: the callbacks get `err` on a microtask (never synchronously, as after a
 * real write); with no callback at all it throws.
 */
export function refuseSend(
  err: Error,
  cb: ((err?: Error) => void) | undefined,
  onAcked: ((err?: Error) => void) | undefined,
): void {
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

/**
 * Runs one kind of send callback of a connection in send order. Over the module a frame's outcome
 * can be known before an earlier frame's: when the link dies, a write held on the host fails at once
 * while the earlier frames' acceptance waits reject a microtask later. A settled callback waits
 * for the ones before it; in order, each runs as soon as it settles (same tick as before).
 */
export class SendOrder {
  private readonly pending: Array<{ cb: (err?: Error) => void; done: boolean; err: Error | undefined }> = [];
  private flushing = false;

  /**
   * Takes a place in line for `cb`. Returns the callback to call (once) with the outcome, and
   * `cancel` for a send that threw before it could ever call it (its place must not block the line).
   */
  reserve(cb: (err?: Error) => void): { settle: (err?: Error) => void; cancel: () => void } {
    const slot: { cb: (err?: Error) => void; done: boolean; err: Error | undefined } = {
      cb,
      done: false,
      err: undefined,
    };
    this.pending.push(slot);
    return {
      settle: (err) => {
        if (slot.done) return;
        slot.done = true;
        slot.err = err;
        this.flush();
      },
      cancel: () => {
        const i = this.pending.indexOf(slot);
        if (i >= 0 && !slot.done) this.pending.splice(i, 1);
        this.flush();
      },
    };
  }

  private flush(): void {
    // A callback may send again (and settle at once): the running loop picks that up.
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0 && this.pending[0]!.done) {
        const slot = this.pending.shift()!;
        slot.cb(slot.err);
      }
    } finally {
      this.flushing = false;
      // A callback threw: the ones behind it still run, after the exception has propagated.
      if (this.pending[0]?.done) queueMicrotask(() => this.flush());
    }
  }
}
