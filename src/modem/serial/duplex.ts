import { Duplex } from 'node:stream';
import createDebug from 'debug';
import type { BindingPortInterface, PortStatus, SetOptions } from '@serialport/bindings-cpp';
import { SerialClosedError, SerialDisconnectedError } from './errors.js';

const debug = createDebug('air780:modem:serial');

/** Reads go into slices of a shared pool, as serialport does, so small reads do not pin 64 KiB each. */
const POOL_SIZE = 64 * 1024;
const MIN_POOL_SPACE = 128;

/** Options of {@link SerialDuplex}. */
export interface SerialDuplexOptions {
  /** Shown in errors and traces. */
  path: string;
  /** Readable and writable buffer bound in bytes (default 64 KiB). */
  highWaterMark?: number | undefined;
}

/**
 * An open serial port as a `stream.Duplex`, over any serialport binding's port.
 *
 * Disconnects are not errors here: when the line goes away (device unplugged, far end of a pty gone,
 * I/O error) the stream is destroyed without an `'error'` event, `disconnected` becomes true and
 * `'close'` is emitted with a {@link SerialDisconnectedError} (as serialport's own stream does with its
 * `DisconnectedError`). A write in flight at that moment gets the error in its callback. After a plain
 * `close()`/`destroy()`, `'close'` carries no argument.
 *
 * Events: the usual Duplex ones; `'close'` `(err?: SerialDisconnectedError)`.
 */
export class SerialDuplex extends Duplex {
  /** The path the port was opened with. */
  readonly path: string;
  private readonly port: BindingPortInterface;
  private pool: Buffer = Buffer.allocUnsafe(POOL_SIZE);
  private poolUsed = 0;
  private reading = false;
  private disconnectErr: SerialDisconnectedError | null = null;

  /** Wrap a port that a binding's `open()` returned. The stream owns it from now on. */
  constructor(port: BindingPortInterface, options: SerialDuplexOptions) {
    const highWaterMark = options.highWaterMark ?? POOL_SIZE;
    // 'close' is emitted by _destroy so that it can carry the disconnect error.
    super({ highWaterMark, emitClose: false, autoDestroy: true, allowHalfOpen: true });
    this.port = port;
    this.path = options.path;
  }

  /** True once the line went away by itself (not by `close()`). */
  get disconnected(): boolean {
    return this.disconnectErr !== null;
  }

  /** Why the line went away, once `disconnected`. */
  get disconnectError(): SerialDisconnectedError | null {
    return this.disconnectErr;
  }

  /** True while the port is open and usable. */
  get isOpen(): boolean {
    return !this.destroyed && this.port.isOpen;
  }

  /** Change the baud rate of the open port. */
  async update(options: { baudRate: number }): Promise<void> {
    this.assertUsable('change the baud rate');
    await this.port.update(options);
  }

  /** Set modem control lines (DTR, RTS, BRK). On a pty this fails: ptys have no modem lines. */
  async set(options: SetOptions): Promise<void> {
    this.assertUsable('set control lines');
    await this.port.set({ brk: false, cts: false, dtr: true, rts: true, ...options });
  }

  /** Read modem status lines (CTS, DSR, DCD). */
  async get(): Promise<PortStatus> {
    this.assertUsable('read status lines');
    return this.port.get();
  }

  /** Discard bytes received but not read and written but not sent, in the kernel. */
  async flush(): Promise<void> {
    this.assertUsable('flush');
    await this.port.flush();
  }

  /** Resolve once every byte written so far has been handed to the OS and transmitted (tcdrain). */
  async drain(): Promise<void> {
    this.assertUsable('drain');
    if (this.writableLength > 0) {
      // Our write callbacks run in order, so an empty write's callback marks "all before it sent".
      await new Promise<void>((resolve) => {
        if (this.writableEnded) this.once('finish', resolve).once('close', resolve);
        else this.write(Buffer.alloc(0), () => resolve());
      });
      this.assertUsable('drain');
    }
    await this.port.drain();
  }

  /** Close the port and wait until it is closed. Safe to call more than once. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.once('close', () => resolve());
      this.destroy();
    });
  }

  override _read(size: number): void {
    if (this.reading) return;
    if (this.pool.length - this.poolUsed < MIN_POOL_SPACE) {
      this.pool = Buffer.allocUnsafe(POOL_SIZE);
      this.poolUsed = 0;
    }
    const pool = this.pool;
    const start = this.poolUsed;
    const length = Math.max(1, Math.min(size, pool.length - start));
    this.reading = true;
    this.port.read(pool, start, length).then(
      ({ bytesRead }) => {
        this.reading = false;
        if (this.destroyed) return;
        if (bytesRead <= 0) {
          this.lineGone(new Error('the binding read 0 bytes (end of file)'));
          return;
        }
        if (pool === this.pool) this.poolUsed += bytesRead;
        this.push(pool.subarray(start, start + bytesRead));
      },
      (err: { canceled?: boolean; message?: string }) => {
        this.reading = false;
        if (err?.canceled || this.destroyed) return;
        this.lineGone(err);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.port.write(chunk).then(
      () => callback(),
      (err: Error & { canceled?: boolean }) => {
        // Destroy first: a write callback error on a destroyed stream reaches only the callback,
        // never an 'error' event (an unheard 'error' would kill the process on an unplug).
        if (!err?.canceled) this.lineGone(err);
        callback(this.disconnectErr ?? err);
      },
    );
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const done = (closeError?: unknown) => {
      // A port that vanished may also fail to close; that is part of the disconnect, not news.
      const reported = error ?? (this.disconnectErr || closeError === undefined ? null : (closeError as Error));
      callback(reported);
      process.nextTick(() => this.emit('close', this.disconnectErr ?? undefined));
    };
    if (this.port.isOpen) this.port.close().then(() => done(), done);
    else done();
  }

  private lineGone(cause: unknown): void {
    if (this.destroyed) return;
    const detail = (cause as { message?: string } | null)?.message ?? String(cause);
    this.disconnectErr = new SerialDisconnectedError(this.path, detail, { cause });
    debug('%s: disconnected: %s', this.path, detail);
    this.destroy();
  }

  private assertUsable(operation: string): void {
    if (!this.isOpen) throw this.disconnectErr ?? new SerialClosedError(this.path, operation);
  }
}
