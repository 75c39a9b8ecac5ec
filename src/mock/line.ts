import { EventEmitter } from 'node:events';

/** Receives what the line delivers. Returning false asks the line to stop until `resume()`. */
export type LineSink = (chunk: Buffer) => boolean;

/**
 * Default delivery step of a throttled line (ms).
 *
 * Why 1 ms: a host never sees serial bytes one at a time, but in the steps its hardware hands them
 * over. A USB CDC-ACM port (how the Air780E is usually attached) delivers in 1 ms full-speed
 * frames; a 16550-class UART interrupts when its receive FIFO reaches its 14-byte trigger (1.2 ms
 * at 115200, 0.15 ms at 921600) or after a 4-character idle timeout. The finer of the two is at
 * most 1 ms at any usual rate, and 1 ms is also the finest step a Node timer can keep. A coarser
 * step (this was 4 ms) adds up to a step of dead time to every command/response turn-around,
 * which a real line does not have, and so understates what a driver achieves. The long-run byte
 * rate does not depend on the step (token bucket).
 */
export const DEFAULT_LINE_STEP_MS = 1;

export interface SerialLineOptions {
  /** Simulated baud rate; bytes/s = baud / 10 (8N1). 0 = unthrottled. */
  baudRate: number;
  /** How often a throttled line delivers (see {@link DEFAULT_LINE_STEP_MS}). */
  chunkMs: number;
  /** Largest single delivery, like a driver's receive buffer. */
  chunkBytes: number;
  /** 'drain' fires when the queue falls to `lowWater` after having exceeded `highWater`. */
  highWater: number;
  lowWater: number;
}

interface Pending {
  buf: Buffer;
  offset: number;
  cb?: ((err?: Error) => void) | undefined;
}

/**
 * One direction of a simulated serial line. Rate is kept by a token bucket against the monotonic
 * clock, so timer jitter changes chunk sizes but not the long-run byte rate.
 */
export class SerialLine extends EventEmitter {
  private queue: Pending[] = [];
  private queued = 0;
  private tokens = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private paused = false;
  private above = false;
  private destroyed = false;
  private sink: LineSink | undefined;
  /** Total bytes delivered so far. */
  delivered = 0;

  constructor(private readonly opts: SerialLineOptions) {
    super();
  }

  get queuedBytes(): number {
    return this.queued;
  }

  get baudRate(): number {
    return this.opts.baudRate;
  }

  /** True while the queue is above the high-water mark (and has not yet drained to low water). */
  get congested(): boolean {
    return this.above;
  }

  setSink(sink: LineSink | undefined): void {
    this.sink = sink;
    this.paused = false;
    this.schedule();
  }

  /** Queue bytes; `cb` runs once the last of them has been delivered (or with an error if dropped). */
  write(buf: Buffer, cb?: (err?: Error) => void): void {
    if (this.destroyed) {
      cb?.(new Error('serial line destroyed'));
      return;
    }
    if (buf.length === 0) {
      if (cb) queueMicrotask(() => cb());
      return;
    }
    if (this.queued === 0) {
      // A UART starts sending when the first byte arrives: no credit saved up while idle.
      this.tokens = 0;
      this.last = performance.now();
    }
    this.queue.push({ buf, offset: 0, cb });
    this.queued += buf.length;
    if (this.queued > this.opts.highWater) this.above = true;
    this.schedule();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.tokens = 0;
    this.last = performance.now();
    this.schedule();
  }

  /** Drop everything queued (the line was cut); pending callbacks get `err`. */
  clear(err: Error = new Error('serial line cleared')): void {
    const q = this.queue;
    this.queue = [];
    this.queued = 0;
    for (const p of q) p.cb?.(err);
    this.checkDrain();
  }

  destroy(): void {
    this.clear(new Error('serial line destroyed'));
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private schedule(): void {
    if (this.destroyed || this.paused || this.queued === 0 || this.timer || this.immediate) return;
    if (this.opts.baudRate <= 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush(Infinity);
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.tick();
      }, this.opts.chunkMs);
    }
  }

  private tick(): void {
    const rate = this.opts.baudRate / 10;
    const now = performance.now();
    // Cap the credit so a long stall (a loaded machine) catches up with a burst, not a flood.
    this.tokens = Math.min(this.tokens + ((now - this.last) * rate) / 1000, Math.max(rate * 0.25, 64));
    this.last = now;
    const allowed = Math.floor(this.tokens);
    if (allowed > 0) this.tokens -= this.flush(allowed);
    this.schedule();
  }

  /** Deliver up to `budget` bytes; returns how many went out. */
  private flush(budget: number): number {
    let sent = 0;
    while (!this.paused && !this.destroyed && this.queued > 0 && sent < budget) {
      const max = Math.min(this.opts.chunkBytes, budget - sent);
      const parts: Buffer[] = [];
      const done: Pending[] = [];
      let n = 0;
      while (n < max && this.queue.length > 0) {
        const p = this.queue[0]!;
        const take = Math.min(max - n, p.buf.length - p.offset);
        parts.push(p.buf.subarray(p.offset, p.offset + take));
        p.offset += take;
        n += take;
        if (p.offset === p.buf.length) {
          this.queue.shift();
          done.push(p);
        }
      }
      this.queued -= n;
      sent += n;
      this.delivered += n;
      const chunk = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
      const ok = this.sink ? this.sink(chunk) : true;
      if (!ok) this.paused = true;
      for (const p of done) p.cb?.();
      this.checkDrain();
    }
    if (this.opts.baudRate <= 0) this.schedule();
    return sent;
  }

  private checkDrain(): void {
    if (this.above && this.queued <= this.opts.lowWater) {
      this.above = false;
      this.emit('drain');
    }
  }
}
